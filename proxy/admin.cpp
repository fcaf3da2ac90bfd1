#include "proxy/admin.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace rdpbridge::proxy {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

awaitable<void> serve(tcp::socket socket, const AdminHandler& handler) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    boost::system::error_code ec;
    // A monitoring client that connects and says nothing must not hold the socket.
    stream.expires_after(std::chrono::seconds(5));
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    http::response<http::string_body> res;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) co_return;
    const auto& req = parser.get();
    if (ec) {
        res.result(http::status::bad_request);
        res.body() = "bad request: " + ec.message() + "\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.body() = "only GET and HEAD\n";
    } else {
        auto answer = handler(std::string_view(req.target().data(), req.target().size()));
        res.result(http::status(answer.status));
        res.set(http::field::content_type, answer.content_type);
        if (req.method() == http::verb::get) res.body() = std::move(answer.body);
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

awaitable<void> admin_accept_loop(tcp::acceptor& acceptor, const AdminHandler& handler) {
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
        boost::system::error_code ec;
        tcp::socket socket(acceptor.get_executor());
        co_await acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
        if (!ec) {
            asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), handler),
                           asio::detached);
        } else if (ec != asio::error::connection_aborted) {
            // Out of descriptors: the connection stays queued; retrying at once would spin.
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        }
    }
}

}  // namespace rdpbridge::proxy
