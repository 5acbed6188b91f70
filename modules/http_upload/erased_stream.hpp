// A stream that hands every read and write to the stream below with one handler type.
//
// Beast's HTTP operations are templates on their completion handler, and each one's reads
// and writes instantiate the whole operation stack below it again: TLS, the flat write
// buffer, the timed TCP stream. With a dozen HTTP calls that made http_server.cpp the
// slowest file of the build by far (3 minutes, a 100 MB object). Here the handler is
// type-erased (asio::any_completion_handler) and the buffer sequence made one buffer, as the
// TLS stream would do anyway, so the stack below is compiled once.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace http_upload {

// Over `Next`, a stream whose own operations complete through a handler bound to its executor
// (Boost 1.81's any_completion_executor cannot be posted to, which the TLS stream does).
template <class Next>
class ErasedStream {
 public:
  using executor_type = typename Next::executor_type;
  using Handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

  explicit ErasedStream(Next& next) : next_(next) {}

  executor_type get_executor() { return next_.get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](Handler handler, boost::asio::mutable_buffer first) {
          next_.async_read_some(first, boost::asio::bind_executor(next_.get_executor(), std::move(handler)));
        },
        token, first_of<boost::asio::mutable_buffer>(buffers));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](Handler handler, boost::asio::const_buffer data) {
          next_.async_write_some(data, boost::asio::bind_executor(next_.get_executor(), std::move(handler)));
        },
        token, coalesce(buffers));
  }

 private:
  // A TLS record's worth.
  static constexpr std::size_t kCoalesceLimit = 16 * 1024;

  // The small buffers at the front copied together (a response head is a dozen pieces),
  // so that they leave in one TLS record, as beast::flat_stream does; a large first buffer
  // as it is. Writes are one at a time, so one copy buffer serves them all.
  template <class ConstBuffers>
  boost::asio::const_buffer coalesce(const ConstBuffers& buffers) {
    auto first = first_of<boost::asio::const_buffer>(buffers);
    if (first.size() >= kCoalesceLimit) return first;
    coalesced_.clear();
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      std::size_t room = kCoalesceLimit - coalesced_.size();
      const char* data = static_cast<const char*>(b.data());
      coalesced_.insert(coalesced_.end(), data, data + std::min(room, b.size()));
      if (coalesced_.size() == kCoalesceLimit) break;
    }
    return boost::asio::buffer(coalesced_);
  }

  // The first non-empty buffer (an empty one if there is none): a read or write of "some"
  // bytes may stop at its end.
  template <class Buffer, class Buffers>
  static Buffer first_of(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      Buffer b(*it);
      if (b.size() != 0) return b;
    }
    return Buffer();
  }

  Next& next_;
  std::vector<char> coalesced_;
};

}  // namespace http_upload
