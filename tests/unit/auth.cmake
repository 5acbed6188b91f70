xmppd_unit_test(scram_test scram_test.cpp)
# OpenSSL directly too: the test checks the RFC vectors with its own HMAC, not ours.
target_link_libraries(scram_test PRIVATE xmppd_scram OpenSSL::Crypto)
