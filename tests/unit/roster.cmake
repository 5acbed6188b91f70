xmppd_unit_test(roster_subscription_test roster_subscription_test.cpp
                ${CMAKE_SOURCE_DIR}/modules/presence/subscription_state.cpp)
target_include_directories(roster_subscription_test PRIVATE ${CMAKE_SOURCE_DIR}/modules/presence)
target_link_libraries(roster_subscription_test PRIVATE xmppd_storage)
