// The admin endpoint: plain HTTP/1.1 (Boost.Beast) for monitoring, one request per connection.
// It is answered from the event loop that relays sessions, so /healthz proves that loop is alive.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "proxy/admin_auth.hpp"
#include "proxy/asio.hpp"
#include "proxy/handshake_log.hpp"

namespace rdpbridge::proxy {

struct AdminResponse {
    AdminResponse() = default;
    AdminResponse(unsigned status_code, std::string type, std::string text)
        : status(status_code), content_type(std::move(type)), body(std::move(text)) {}

    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    // Server-Timing (W3C): what building the answer cost, e.g. "render;dur=4.2" (milliseconds),
    // so that a browser's developer tools and bench/ see the server's share of a page load.
    std::string server_timing;
};

// Called for each GET or HEAD the client may make, with the request target ("/metrics"): the
// server answers anything else itself (400, 405, and 401 without the credentials in force).
using AdminHandler = std::function<AdminResponse(std::string_view target)>;

// What the server asks besides the handler, on the loop that runs the accept loop.
struct AdminEndpoint {
    AdminHandler handler;
    // The credentials in force, read at each request: a reload may replace them. Every path but
    // /healthz and /readyz needs them; nullptr or none configured grants every request.
    std::shared_ptr<const AdminCredentials> credentials;
    // One debug line per request (method, path, status, client); never the Authorization header.
    HandshakeLog* log = nullptr;
};

// Accepts until `acceptor` is closed. Each request must arrive within 5 s and its headers fit in
// 8 KiB; the connection closes after the response.
awaitable<void> admin_accept_loop(tcp::acceptor& acceptor, const AdminEndpoint& endpoint);

}  // namespace rdpbridge::proxy
