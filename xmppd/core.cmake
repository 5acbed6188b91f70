add_library(xmppd_core STATIC
  net/transport.cpp net/tls.cpp net/listener.cpp net/websocket.cpp net/bosh_connection.cpp
  net/http/http_message.cpp net/http/http_server.cpp net/http/http_connection.cpp net/http/host_meta.cpp
  net/http/web_client.cpp
  router/router.cpp router/audience.cpp router/stanza_cause.cpp
  module/module_config.cpp module/registry.cpp module/host_context.cpp
  stream/c2s_session.cpp stream/c2s_stream_management.cpp stream/stream_management.cpp
  stream/csi_buffer.cpp stream/stream_error.cpp stream/xml_stream_framing.cpp stream/websocket_framing.cpp
  stream/websocket_endpoint.cpp stream/framing.cpp stream/bosh_endpoint.cpp
  server.cpp)
target_link_libraries(xmppd_core PUBLIC xmppd_common xmppd_xml xmppd_config xmppd_storage xmppd_sasl
                      OpenSSL::SSL OpenSSL::Crypto Threads::Threads ${CMAKE_DL_LIBS})
target_include_directories(xmppd_core PUBLIC ${TOMLPP_INCLUDE_DIR})
set_source_files_properties(net/http/web_client.cpp PROPERTIES
                            COMPILE_DEFINITIONS XMPPD_WEB_CLIENT_ROOT="${XMPPD_WEB_CLIENT_ROOT}")
