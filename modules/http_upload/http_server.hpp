// The HTTPS side of XEP-0363: PUT stores a file that a signed slot URL allows; GET and HEAD
// serve it (Content-Type from the slot, byte ranges, caching headers); OPTIONS answers the
// CORS preflight of web clients.
//
// It runs on an io_context and a thread of its own. Receiving and serving files means disk
// reads and writes; however slow the disk is, XMPP traffic on the network threads must not
// wait for it, and one thread is plenty for a disk's worth of transfers. Bodies move in
// 64 KiB pieces in both directions, so memory stays flat whatever the file size.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "file_store.hpp"
#include "upload_token.hpp"

namespace http_upload {

class HttpServer {
 public:
  // The host's TLS context, fetched for each connection: after a reload (SIGHUP) it holds
  // the renewed certificate.
  using TlsSource = std::function<boost::asio::ssl::context&()>;

  // `path_prefix`: the path of the upload URLs ("/upload"); at most `max_connections` clients
  // at once (the process's file descriptors are shared with the XMPP connections).
  HttpServer(TlsSource tls, FileStore& store, const UploadSigner& signer, std::string path_prefix,
             std::size_t max_connections);
  ~HttpServer();

  // Binds the listener; returns where it listens (port 0: the one the OS chose). Throws.
  boost::asio::ip::tcp::endpoint listen(const std::string& address, unsigned short port);
  // Runs `task` on the server's thread every `period` (the expiry sweep touches the disk).
  void every(std::chrono::seconds period, std::function<void()> task);
  // Accepts and serves on the server's own thread.
  void start();
  // Closes the listener and every connection; an upload in progress is discarded.
  void stop();

 private:
  class Connection;

  boost::asio::awaitable<void> accept_loop();

  TlsSource tls_;
  FileStore& store_;
  const UploadSigner& signer_;
  std::string prefix_;
  std::size_t max_connections_;
  std::size_t open_ = 0;  // connections alive (only touched on the server's thread)
  // Optional so that stop() can destroy the connections (their coroutines) while the store
  // they write to still exists.
  std::optional<boost::asio::io_context> io_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
};

}  // namespace http_upload
