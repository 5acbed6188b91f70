// The WebSocket protocol's wire format (RFC 6455 §5): frames from a client, frames to it,
// and the handshake's accept key.
//
// Not Beast's websocket::stream: it writes each message with a system call of its own and
// keeps read buffers per connection. XMPP over WebSocket carries one stanza per message,
// and the c2s session batches what it sends; here a server frame is a 2-10 byte header
// written in front of the stanza in the session's output buffer, so a burst of stanzas still
// leaves in one write, and an idle connection holds no buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace xmppd::net::websocket {

enum class Opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// RFC 6455 §7.4.1 status codes.
enum CloseCode : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  unsupported_data = 1003,
  invalid_payload = 1007,  // a text message that is not UTF-8
  policy_violation = 1008,
  message_too_big = 1009,
};

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (§4.2.2).
std::string accept_key(std::string_view client_key);

// A server frame (final, unmasked) around `payload`, appended to `out`.
void append_frame(std::string& out, Opcode opcode, std::string_view payload);
// Inserts the header of a final text frame at out[from], for the payload already at out[from..].
void frame_in_place(std::string& out, std::size_t from);
// A close frame with a status code and a short reason (§5.5.1).
void append_close(std::string& out, std::uint16_t code, std::string_view reason = {});

bool valid_utf8(std::string_view text);

// Reads a client's frames: reassembles fragmented messages, unmasks, checks the rules.
class FrameReader {
 public:
  enum class Result {
    need_more,  // every complete frame was read: feed more bytes
    message,    // a whole text message: payload()
    ping,       // payload() is to be echoed in a pong
    pong,
    close,      // the client closes: close_code() (normal if it gave none)
    error,      // the client broke the protocol: close_code() and error_text() say how
  };

  // `max_message`: the largest message accepted, in bytes.
  explicit FrameReader(std::size_t max_message) : max_message_(max_message) {}

  void append(std::string_view bytes) { buffer_.append(bytes); }
  Result next();
  // The payload of the last message, ping or pong; valid until the next append() or next().
  std::string_view payload() const { return payload_; }
  std::uint16_t close_code() const { return close_code_; }
  const std::string& error_text() const { return error_text_; }
  // Frees the buffers if no frame is half-read; false otherwise.
  bool release_if_idle();

 private:
  Result fail(std::uint16_t code, std::string text);

  std::size_t max_message_;
  std::string buffer_;      // bytes received and not yet consumed
  std::size_t consumed_ = 0;
  std::string fragments_;   // the parts of a fragmented message so far
  bool in_message_ = false; // a fragmented message has begun
  std::string_view payload_;
  std::uint16_t close_code_ = normal;
  std::string error_text_;
};

}  // namespace xmppd::net::websocket
