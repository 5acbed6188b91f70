xmppd_unit_test(sasl_test sasl_test.cpp)
target_link_libraries(sasl_test PRIVATE xmppd_sasl)
