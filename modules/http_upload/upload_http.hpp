// The HTTP side of XEP-0363, a route on the server's HTTP layer: PUT stores a file that a
// signed slot URL allows; GET and HEAD serve it (Content-Type from the slot, byte ranges,
// caching headers). CORS preflights are answered by the HTTP layer.
//
// Requests arrive on the network threads; everything that touches the disk (creating,
// writing, committing, reading and expiring files) runs on a thread of this module's own,
// so however slow the disk is, XMPP traffic does not wait for it. Bodies move in 64 KiB
// pieces in both directions, so memory stays flat whatever the file size.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <xmppd/http.hpp>

#include "file_store.hpp"
#include "upload_token.hpp"

namespace http_upload {

class UploadHttp {
 public:
  // `path_prefix`: the path of the upload URLs ("/upload/localhost").
  UploadHttp(FileStore& store, const UploadSigner& signer, std::string path_prefix);
  ~UploadHttp();

  // Runs `task` on the disk thread every `period` (the expiry sweep).
  void every(std::chrono::seconds period, std::function<void()> task);
  void start();
  // Stops the disk thread; an upload in progress is discarded.
  void stop();

  // The route's handler.
  boost::asio::awaitable<void> serve(xmppd::HttpExchange& exchange);

 private:
  boost::asio::awaitable<void> put(xmppd::HttpExchange& exchange);
  boost::asio::awaitable<void> get(xmppd::HttpExchange& exchange);

  FileStore& store_;
  const UploadSigner& signer_;
  std::string prefix_;
  std::optional<boost::asio::io_context> disk_;
  std::thread thread_;
};

}  // namespace http_upload
