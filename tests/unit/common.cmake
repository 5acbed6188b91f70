xmppd_unit_test(jid_test jid_test.cpp)
target_link_libraries(jid_test PRIVATE xmppd_common)
