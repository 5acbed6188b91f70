add_library(xmppd_core STATIC
  net/transport.cpp net/tls.cpp net/listener.cpp
  router/router.cpp
  stream/c2s_session.cpp
  server.cpp)
target_link_libraries(xmppd_core PUBLIC xmppd_common xmppd_xml xmppd_config xmppd_storage xmppd_sasl
                      OpenSSL::SSL OpenSSL::Crypto Threads::Threads)

add_executable(xmppd main.cpp)
target_link_libraries(xmppd PRIVATE xmppd_core)
