xmppd_unit_test(storage_test storage_test.cpp)
target_link_libraries(storage_test PRIVATE xmppd_storage)

# Runs the real xmppctl binary; reads the database it wrote through xmppd_storage.
xmppd_unit_test(storage_xmppctl_test storage_xmppctl_test.cpp)
target_link_libraries(storage_xmppctl_test PRIVATE xmppd_storage)
target_compile_definitions(storage_xmppctl_test PRIVATE XMPPCTL_BINARY="$<TARGET_FILE:xmppctl>")
add_dependencies(storage_xmppctl_test xmppctl)
