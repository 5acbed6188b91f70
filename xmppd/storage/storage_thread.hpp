// Runs blocking storage work on a thread of its own, so network threads never wait on disk.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include "storage/storage.hpp"

namespace xmppd::storage {

class StorageThread {
 public:
  explicit StorageThread(std::unique_ptr<Storage> storage)
      : storage_(std::move(storage)), work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~StorageThread() { stop(); }
  StorageThread(const StorageThread&) = delete;
  StorageThread& operator=(const StorageThread&) = delete;

  // Finishes queued work, then joins.
  void stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    thread_.join();
  }

  // co_await run(f): f(Storage&) runs on the storage thread; the caller resumes on its own
  // executor with f's result (or f's exception rethrown there).
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F, Storage&>> run(F f) {
    using R = std::invoke_result_t<F, Storage&>;
    auto home = co_await boost::asio::this_coro::executor;
    co_await boost::asio::post(io_.get_executor(), boost::asio::use_awaitable);
    std::exception_ptr error;
    if constexpr (std::is_void_v<R>) {
      try {
        f(*storage_);
      } catch (...) {
        error = std::current_exception();
      }
      co_await boost::asio::post(home, boost::asio::use_awaitable);
      if (error) std::rethrow_exception(error);
    } else {
      std::optional<R> result;
      try {
        result.emplace(f(*storage_));
      } catch (...) {
        error = std::current_exception();
      }
      co_await boost::asio::post(home, boost::asio::use_awaitable);
      if (error) std::rethrow_exception(error);
      co_return std::move(*result);
    }
  }

 private:
  std::unique_ptr<Storage> storage_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace xmppd::storage
