#include "proxy/probe/wire.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "proxy/asio.hpp"
#include "proxy/transport_errors.hpp"
#include "rdp/tpkt.hpp"
#include "tls/diagnose.hpp"

namespace rdpbridge::probe {

namespace {

using boost::system::error_code;
using proxy::asio::ip::tcp;
namespace asio = proxy::asio;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kFirstBytesKept = 64;

std::string seconds_text(Millis m) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", double(m.count()) / 1000.0);
    return buf;
}

// The cause in the transport vocabulary, the detail in the probe's words (which step, how many
// bytes had arrived).
WireFailure transport(const error_code& ec, bool timed_out, Millis waited, std::size_t received,
                      const char* step) {
    const auto cause = proxy::transport_failure(proxy::Peer::host, rdp::Stage::backend_negotiation,
                                                ec, timed_out, received)
                           .cause;
    std::string detail = cause == rdp::Cause::host_silent
                             ? "no answer within " + seconds_text(waited)
                         : cause == rdp::Cause::host_reset ? std::string("reset the connection")
                         : ec == asio::error::eof          ? std::string("closed the connection")
                                                           : ec.message();
    if (cause != rdp::Cause::host_silent) detail.append(" ").append(step);
    if (received > 0) detail.append(" (" + std::to_string(received) + " byte(s) received)");
    return WireFailure{cause, std::move(detail)};
}

}  // namespace

Budget::Budget(Millis step, Millis total) : step_(step), end_(Clock::now() + total) {}

Millis Budget::step() const {
    const auto left = std::chrono::duration_cast<Millis>(end_ - Clock::now());
    return std::max(Millis(0), std::min(step_, left));
}

Outcome<std::vector<std::string>> resolve(const std::string& host, Millis timeout) {
    struct State {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        error_code ec;
        std::vector<std::string> addresses;
    };
    auto state = std::make_shared<State>();
    // Detached on purpose: getaddrinfo cannot be cancelled, and a resolver that hangs must not
    // keep the probe (or its exit) waiting. The thread owns a reference to its state.
    std::thread([state, host] {
        asio::io_context io;
        tcp::resolver resolver(io);
        error_code ec;
        const auto results = resolver.resolve(host, "0", ec);
        std::vector<std::string> addresses;
        if (!ec) {
            for (const auto& r : results) {
                const auto text = r.endpoint().address().to_string();
                if (std::find(addresses.begin(), addresses.end(), text) == addresses.end())
                    addresses.push_back(text);
            }
        }
        std::lock_guard lock(state->m);
        state->ec = ec;
        state->addresses = std::move(addresses);
        state->done = true;
        state->cv.notify_all();
    }).detach();
    std::unique_lock lock(state->m);
    if (!state->cv.wait_for(lock, timeout, [&] { return state->done; }))
        return WireFailure{proxy::resolve_failure({}, true, host)};
    if (state->ec) return WireFailure{proxy::resolve_failure(state->ec, false, host)};
    if (state->addresses.empty())
        return WireFailure{rdp::Cause::dns_not_found, host + ": no addresses"};
    return state->addresses;
}

struct Connection::Impl {
    explicit Impl(Budget& b) : budget(b) {}

    // Runs queued work until `done` or the step deadline. On timeout the socket is closed, which
    // completes the pending operation (with operation_aborted) so that nothing outlives us.
    bool run_until(const bool& done) {
        last_step = budget.step();
        const auto deadline = Clock::now() + last_step;
        io.restart();
        while (!done && io.run_one_until(deadline) > 0) {
        }
        if (done) return true;
        error_code ignored;
        socket.close(ignored);
        io.restart();
        io.run();
        return false;
    }

    Budget& budget;
    Millis last_step{0};
    asio::io_context io{1};
    tcp::socket socket{io};
    std::optional<asio::ssl::context> ssl_ctx;
    std::optional<asio::ssl::stream<tcp::socket&>> tls;
    std::string endpoint;
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Outcome<Connection> Connection::open(const std::string& ip, uint16_t port, Budget& budget) {
    auto impl = std::make_unique<Impl>(budget);
    impl->endpoint = ip.find(':') != std::string::npos ? "[" + ip + "]:" + std::to_string(port)
                                                       : ip + ":" + std::to_string(port);
    if (budget.exhausted())
        return WireFailure{rdp::Cause::connection_timed_out, "time budget spent"};
    error_code ec;
    const auto address = asio::ip::make_address(ip, ec);
    if (ec) return WireFailure{rdp::Cause::dns_failed, ip + ": not an IP address"};
    budget.count_connection();
    bool done = false;
    impl->socket.async_connect(tcp::endpoint(address, port), [&](const error_code& e) {
        ec = e;
        done = true;
    });
    if (!impl->run_until(done))
        return WireFailure{proxy::connect_failure({}, true, impl->endpoint)};
    if (ec) return WireFailure{proxy::connect_failure(ec, false, impl->endpoint)};
    impl->socket.set_option(tcp::no_delay(true), ec);
    return Connection(std::move(impl));
}

Outcome<rdp::Bytes> Connection::exchange(rdp::ByteView pdu, std::size_t max) {
    Impl& c = *impl_;
    error_code ec;
    bool done = false;
    asio::async_write(c.socket, asio::buffer(pdu.data(), pdu.size()),
                      [&](const error_code& e, std::size_t) {
                          ec = e;
                          done = true;
                      });
    const bool written = c.run_until(done);
    if (!written || ec) {
        return transport(ec, !written, c.last_step, 0, "while sending");
    }
    rdp::Bytes buffer;
    std::array<uint8_t, 4096> chunk;
    for (;;) {
        if (!buffer.empty() && !rdp::starts_like_tpkt(buffer)) {
            rdp::Bytes first(buffer.begin(),
                             buffer.begin() + long(std::min(buffer.size(), kFirstBytesKept)));
            return WireFailure{rdp::Cause::host_confirm_malformed, "not a TPKT frame",
                               std::move(first)};
        }
        auto header = rdp::peek_frame(buffer);
        if (!header) {
            return WireFailure{
                rdp::Cause::host_confirm_malformed, header.error().message(),
                rdp::Bytes(buffer.begin(),
                           buffer.begin() + long(std::min(buffer.size(), kFirstBytesKept)))};
        }
        if (*header) {
            const std::size_t length = (*header)->length;
            if (length > max) {
                return WireFailure{rdp::Cause::host_confirm_malformed,
                                   "answer announces " + std::to_string(length) +
                                       " bytes; at most " + std::to_string(max) + " expected"};
            }
            if (buffer.size() >= length) {
                buffer.resize(length);
                return buffer;
            }
        }
        std::size_t n = 0;
        done = false;
        c.socket.async_read_some(asio::buffer(chunk), [&](const error_code& e, std::size_t got) {
            ec = e;
            n = got;
            done = true;
        });
        const bool answered = c.run_until(done);
        if (!answered || ec) {
            auto failure = transport(ec, !answered, c.last_step, buffer.size(), "before answering");
            failure.first_bytes = std::move(buffer);
            return failure;
        }
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + long(n));
    }
}

Outcome<SSL*> Connection::start_tls(SSL_CTX* ctx, const std::function<void(SSL*)>& configure) {
    Impl& c = *impl_;
    // asio's context takes ownership of one reference; the caller keeps its own.
    SSL_CTX_up_ref(ctx);
    c.ssl_ctx.emplace(ctx);
    c.tls.emplace(c.socket, *c.ssl_ctx);
    SSL* ssl = c.tls->native_handle();
    configure(ssl);
    tls::AlertTrace alerts;
    tls::attach_alert_trace(ssl, &alerts);
    error_code ec;
    bool done = false;
    c.tls->async_handshake(asio::ssl::stream_base::client, [&](const error_code& e) {
        ec = e;
        done = true;
    });
    const bool finished = c.run_until(done);
    tls::attach_alert_trace(ssl, nullptr);
    if (!finished) {
        return WireFailure{rdp::Cause::host_silent,
                           "no TLS handshake answer within " + seconds_text(c.last_step)};
    }
    if (ec) {
        if (ec.category() != asio::error::get_ssl_category()) {
            return transport(ec, false, c.last_step, 0, "during the TLS handshake");
        }
        return WireFailure{tls::diagnose_handshake(tls::Side::backend, ec.value(), alerts,
                                                   SSL_get_verify_result(ssl), ec.message())};
    }
    return ssl;
}

}  // namespace rdpbridge::probe
