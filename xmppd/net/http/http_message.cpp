#include "net/http/http_message.hpp"

namespace xmppd::net::http {

std::string_view Request::path() const {
  std::string_view target = message.target();
  return target.substr(0, target.find('?'));
}

std::string_view Request::header(boost::beast::http::field name) const {
  auto it = message.find(name);
  return it == message.end() ? std::string_view() : std::string_view(it->value());
}

std::string_view Request::header(std::string_view name) const {
  auto it = message.find(name);
  return it == message.end() ? std::string_view() : std::string_view(it->value());
}

Handler simple(SimpleHandler handler) {
  return [handler = std::move(handler)](Exchange& exchange) -> boost::asio::awaitable<void> {
    Response response = handler(exchange.request());
    co_await exchange.answer(response);
  };
}

Response Response::text(unsigned status, std::string_view message) {
  Response response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body.assign(message).append("\n");
  return response;
}

}  // namespace xmppd::net::http
