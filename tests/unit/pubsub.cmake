# The pubsub engine's pure pieces: node configuration forms, and the conversions between
# bookmark and avatar forms (XEP-0402 §5.3, XEP-0398), built from the modules' own sources.
xmppd_unit_test(pubsub_test pubsub_test.cpp
                ${CMAKE_SOURCE_DIR}/modules/pep/node_config.cpp
                ${CMAKE_SOURCE_DIR}/modules/pep/bookmarks_compat.cpp
                ${CMAKE_SOURCE_DIR}/modules/pep/avatar_compat.cpp
                ${CMAKE_SOURCE_DIR}/modules/vcard/avatar_hashes.cpp)
target_include_directories(pubsub_test PRIVATE ${CMAKE_SOURCE_DIR}/modules/pep ${CMAKE_SOURCE_DIR}/modules/vcard
                           ${CMAKE_SOURCE_DIR}/xmppd ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(pubsub_test PRIVATE xmppd_common xmppd_xml OpenSSL::Crypto)
