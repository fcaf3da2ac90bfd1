#include "proxy/admin.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "config/endpoint.hpp"
#include "proxy/log_escape.hpp"

namespace rdpbridge::proxy {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::string_view view(beast::string_view s) {
    return {s.data(), s.size()};
}

// Whether the request may have `path`, and if not why (for the 401 and the request log).
AdminAuthResult authorize(const AdminEndpoint& endpoint, std::string_view path,
                          std::string_view authorization) {
    if (admin_path_is_public(path) || !endpoint.credentials) return AdminAuthResult::granted;
    return endpoint.credentials->check(authorization);
}

awaitable<void> serve(tcp::socket socket, const AdminEndpoint& endpoint) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    const std::string client =
        ec ? "?" : config::to_string({peer.address().to_string(), peer.port()});
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    // A monitoring client that connects and says nothing must not hold the socket.
    stream.expires_after(std::chrono::seconds(5));
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    http::response<http::string_body> res;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) co_return;
    const auto& req = parser.get();
    const bool head = !ec && req.method() == http::verb::head;
    const std::string_view path = admin_path(view(req.target()));
    auto verdict = AdminAuthResult::granted;
    if (ec) {
        res.result(http::status::bad_request);
        res.body() = "bad request: " + ec.message() + "\n";
    } else if (req.method() != http::verb::get && !head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.body() = "only GET and HEAD\n";
    } else {
        verdict = authorize(endpoint, path, view(req[http::field::authorization]));
        if (verdict != AdminAuthResult::granted) {
            res.result(http::status::unauthorized);
            res.set(http::field::www_authenticate, endpoint.credentials->challenge());
            if (!head) res.body() = endpoint.credentials->refusal();
        } else {
            auto answer = endpoint.handler(view(req.target()));
            res.result(http::status(answer.status));
            res.set(http::field::content_type, answer.content_type);
            if (!answer.server_timing.empty()) res.set("Server-Timing", answer.server_timing);
            if (!head) res.body() = std::move(answer.body);
        }
    }
    if (endpoint.log != nullptr) {
        // Path and status only: the query and the headers (Authorization above all) stay out.
        endpoint.log->debug("admin request from " + client + ": " +
                            (ec ? std::string("?") : escape_for_log(view(req.method_string()))) +
                            " " + escape_for_log(path) + " -> " + std::to_string(res.result_int()) +
                            (verdict == AdminAuthResult::granted
                                 ? ""
                                 : " (" + std::string(to_string(verdict)) + ")"));
    }
    if (!res.count(http::field::content_type))
        res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::server, "rdpbridge");
    res.set(http::field::cache_control, "no-store");
    res.version(11);
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

awaitable<void> admin_accept_loop(tcp::acceptor& acceptor, const AdminEndpoint& endpoint) {
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
        boost::system::error_code ec;
        tcp::socket socket(acceptor.get_executor());
        co_await acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
        if (!ec) {
            asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), endpoint),
                           asio::detached);
        } else if (ec != asio::error::connection_aborted) {
            // Out of descriptors: the connection stays queued; retrying at once would spin.
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        }
    }
}

}  // namespace rdpbridge::proxy
