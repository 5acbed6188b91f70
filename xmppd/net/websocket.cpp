#include "net/websocket.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstring>

namespace xmppd::net::websocket {
namespace {

// Writes the header of a final frame for `size` payload bytes; returns its length.
std::size_t header(Opcode opcode, std::uint64_t size, char out[10]) {
  out[0] = char(0x80 | std::uint8_t(opcode));
  if (size < 126) {
    out[1] = char(size);
    return 2;
  }
  if (size <= 0xFFFF) {
    out[1] = char(126);
    out[2] = char(size >> 8);
    out[3] = char(size);
    return 4;
  }
  out[1] = char(127);
  for (int i = 0; i < 8; ++i) out[2 + i] = char(size >> (56 - 8 * i));
  return 10;
}

}  // namespace

std::string accept_key(std::string_view client_key) {
  std::string text(client_key);
  text += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(encoded), std::size_t(n));
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload) {
  char head[10];
  out.append(head, header(opcode, payload.size(), head));
  out.append(payload);
}

void frame_in_place(std::string& out, std::size_t from) {
  char head[10];
  out.insert(from, head, header(Opcode::text, out.size() - from, head));
}

void append_close(std::string& out, std::uint16_t code, std::string_view reason) {
  std::string payload{char(code >> 8), char(code & 0xFF)};
  payload.append(reason.substr(0, 123));  // a control frame carries at most 125 bytes
  append_frame(out, Opcode::close, payload);
}

bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // ASCII eight bytes at a time: most of XMPP.
    if (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t length;
    std::uint32_t min, code;
    if ((c & 0xE0) == 0xC0) length = 2, min = 0x80, code = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) length = 3, min = 0x800, code = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) length = 4, min = 0x10000, code = c & 0x07;
    else return false;
    if (std::size_t(end - p) < length) return false;
    for (std::size_t i = 1; i < length; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past Unicode are not UTF-8.
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    p += length;
  }
  return true;
}

FrameReader::Result FrameReader::fail(std::uint16_t code, std::string text) {
  close_code_ = code;
  error_text_ = std::move(text);
  return Result::error;
}

FrameReader::Result FrameReader::next() {
  for (;;) {
    // What the previous call handed out is gone now.
    if (consumed_ == buffer_.size()) {
      buffer_.clear();
      consumed_ = 0;
    }
    auto* p = reinterpret_cast<unsigned char*>(buffer_.data()) + consumed_;
    const std::size_t available = buffer_.size() - consumed_;
    if (available < 2) return Result::need_more;
    const bool fin = p[0] & 0x80;
    const auto opcode = Opcode(p[0] & 0x0F);
    if (p[0] & 0x70) return fail(protocol_error, "reserved bits set (no extension was agreed)");
    if (!(p[1] & 0x80)) return fail(protocol_error, "client frames must be masked");
    std::uint64_t size = p[1] & 0x7F;
    std::size_t head = 2;
    if (size == 126) {
      if (available < 4) return Result::need_more;
      size = (std::uint64_t(p[2]) << 8) | p[3];
      head = 4;
    } else if (size == 127) {
      if (available < 10) return Result::need_more;
      if (p[2] & 0x80) return fail(protocol_error, "a 64-bit length must have its top bit clear");
      size = 0;
      for (int i = 0; i < 8; ++i) size = (size << 8) | p[2 + i];
      head = 10;
    }
    const bool control = std::uint8_t(opcode) >= 8;
    if (control && (!fin || size > 125)) return fail(protocol_error, "a control frame must be final and short");
    // Compared without adding to `size`, which may be near 2^63.
    if (!control && size > max_message_ - fragments_.size())
      return fail(message_too_big, "message larger than " + std::to_string(max_message_) + " bytes");
    if (available < head + 4 || available - head - 4 < size) {
      buffer_.reserve(consumed_ + head + 4 + std::size_t(size));  // one growth for a large frame
      return Result::need_more;
    }
    const unsigned char* mask = p + head;
    unsigned char* data = p + head + 4;
    for (std::size_t i = 0; i < size; ++i) data[i] ^= mask[i & 3];
    consumed_ += head + 4 + std::size_t(size);
    const std::string_view body(reinterpret_cast<const char*>(data), std::size_t(size));

    switch (opcode) {
      case Opcode::ping: payload_ = body; return Result::ping;
      case Opcode::pong: payload_ = body; return Result::pong;
      case Opcode::close:
        if (body.size() == 1) return fail(protocol_error, "a close frame's status code is two bytes");
        close_code_ = body.size() >= 2 ? std::uint16_t((std::uint8_t(body[0]) << 8) | std::uint8_t(body[1])) : std::uint16_t(normal);
        return Result::close;
      case Opcode::binary:
        return fail(unsupported_data, "XMPP over WebSocket uses text messages (RFC 7395 §3.2)");
      case Opcode::text:
        if (in_message_) return fail(protocol_error, "a new message began inside a fragmented one");
        if (!fin) {
          in_message_ = true;
          fragments_.assign(body);
          continue;
        }
        payload_ = body;
        break;
      case Opcode::continuation:
        if (!in_message_) return fail(protocol_error, "a continuation frame without a message");
        fragments_.append(body);
        if (!fin) continue;
        in_message_ = false;
        payload_ = fragments_;
        break;
      default:
        return fail(protocol_error, "unknown opcode " + std::to_string(int(opcode)));
    }
    if (!valid_utf8(payload_)) return fail(invalid_payload, "a text message that is not UTF-8");
    return Result::message;
  }
}

bool FrameReader::release_if_idle() {
  if (consumed_ != buffer_.size() || in_message_) return false;
  std::string().swap(buffer_);
  std::string().swap(fragments_);
  consumed_ = 0;
  payload_ = {};
  return true;
}

}  // namespace xmppd::net::websocket
