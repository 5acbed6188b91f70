xmppd_unit_test(config_test config_test.cpp)
target_link_libraries(config_test PRIVATE xmppd_config GTest::gmock)
# The shipped default config, so the test proves it loads.
target_compile_definitions(config_test PRIVATE
  XMPPD_SHIPPED_CONFIG="${CMAKE_SOURCE_DIR}/config/xmppd.toml")
