// Runs blocking storage work on a thread of its own, so network threads never wait on disk.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <exception>
#include <future>
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
  // Pass a named lambda, never a temporary one: GCC 12 destroys the temporaries of a
  // co_await expression twice, which corrupts any capture that owns memory.
  template <class F>
  auto run(F&& f) {
    using R = std::invoke_result_t<std::decay_t<F>&, Storage&>;
    if constexpr (std::is_void_v<R>) {
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr)>(
          [this](auto handler, std::decay_t<F> fn) {
            boost::asio::post(io_, [this, handler = std::move(handler), fn = std::move(fn)]() mutable {
              std::exception_ptr error;
              try {
                fn(*storage_);
              } catch (...) {
                error = std::current_exception();
              }
              auto home = boost::asio::get_associated_executor(handler);
              boost::asio::post(home, [handler = std::move(handler), error]() mutable { handler(error); });
            });
          },
          boost::asio::use_awaitable, std::forward<F>(f));
    } else {
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr, R)>(
          [this](auto handler, std::decay_t<F> fn) {
            boost::asio::post(io_, [this, handler = std::move(handler), fn = std::move(fn)]() mutable {
              std::exception_ptr error;
              std::optional<R> result;
              try {
                result.emplace(fn(*storage_));
              } catch (...) {
                error = std::current_exception();
              }
              auto home = boost::asio::get_associated_executor(handler);
              boost::asio::post(home, [handler = std::move(handler), error, result = std::move(result)]() mutable {
                handler(error, result ? std::move(*result) : R{});
              });
            });
          },
          boost::asio::use_awaitable, std::forward<F>(f));
    }
  }

  // Runs f(Storage&) on the storage thread and blocks until it is done. Only for startup
  // (modules creating their tables) and tools, never on a network thread.
  template <class F>
  auto call(F f) {
    std::packaged_task<std::invoke_result_t<F&, Storage&>()> task([&] { return f(*storage_); });
    auto done = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return done.get();
  }

 private:
  std::unique_ptr<Storage> storage_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace xmppd::storage
