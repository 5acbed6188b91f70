// Accepts client connections on one address and hands each to a worker thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace xmppd::net {

class Listener {
 public:
  // Called on the chosen worker's thread with the accepted socket and its peer's address.
  using OnAccept =
      std::function<void(boost::asio::ip::tcp::socket, const boost::asio::ip::tcp::endpoint& peer, bool direct_tls)>;

  // Binds now (so a taken port fails at start, not later). Throws std::runtime_error.
  // `refusal`: the bytes a client refused for lack of file descriptors is sent before the
  // connection closes (empty: just closed, as a direct-TLS client must be).
  // `name` and `mode`: what the log calls it ("c2s listening on 0.0.0.0:5222 (STARTTLS)").
  Listener(boost::asio::io_context& io, const config::Listener& where,
           std::vector<boost::asio::io_context*> workers, OnAccept on_accept, std::string refusal,
           std::string name, std::string mode);

  ~Listener();

  void start();
  void stop();
  boost::asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  boost::asio::awaitable<void> accept_loop();
  // Accepts a pending connection with the spare descriptor and closes it; false if it could not.
  bool refuse_one();
  boost::asio::awaitable<void> pause();

  boost::asio::ip::tcp::acceptor acceptor_;
  bool direct_tls_;
  std::vector<boost::asio::io_context*> workers_;
  std::size_t next_worker_ = 0;
  OnAccept on_accept_;
  std::string refusal_;
  std::string name_;
  std::string mode_;
  int spare_fd_ = -1;  // held in reserve to accept, and refuse, a connection when out of descriptors
  std::chrono::steady_clock::time_point refusal_logged_{};
};

}  // namespace xmppd::net
