// The admin endpoint: plain HTTP/1.1 (Boost.Beast) for monitoring, one request per connection.
// It is answered from the event loop that relays sessions, so /healthz proves that loop is alive.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "proxy/asio.hpp"

namespace rdpbridge::proxy {

struct AdminResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

// Called for each GET with the request target ("/metrics"); the server answers anything else
// itself (405, 400).
using AdminHandler = std::function<AdminResponse(std::string_view target)>;

// Accepts until `acceptor` is closed. Each request must arrive within 5 s and its headers fit in
// 8 KiB; the connection closes after the response.
awaitable<void> admin_accept_loop(tcp::acceptor& acceptor, const AdminHandler& handler);

}  // namespace rdpbridge::proxy
