# The muc module's pure logic: history selection (XEP-0045 §7.2.15) and the room
# configuration form (§10.2), nickname comparison (RFC 8266), built from the module's own sources.
xmppd_unit_test(muc_test muc_test.cpp
                ${CMAKE_SOURCE_DIR}/modules/muc/history.cpp
                ${CMAKE_SOURCE_DIR}/modules/muc/room_config.cpp
                ${CMAKE_SOURCE_DIR}/modules/muc/nickname.cpp)
target_include_directories(muc_test PRIVATE ${CMAKE_SOURCE_DIR}/modules/muc ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(muc_test PRIVATE xmppd_common xmppd_xml PkgConfig::IDN)
