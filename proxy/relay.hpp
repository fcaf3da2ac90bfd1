// Full-duplex relay between the client's and the host's streams after the handshake. Each
// direction reads into one buffer and writes it out before reading again, so no more than
// `buffer_size` bytes per direction are ever held: a peer that stops reading stalls its sender,
// it does not grow memory. The buffer is allocated when bytes arrive and freed once they are
// written, so an idle session holds none. The Bridge sees the bytes until it declares a direction
// transparent; after that, bytes pass without a copy.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/watchdog.hpp"
#include "rdp/bridge.hpp"

namespace rdpbridge::proxy {

struct RelayResult {
    uint64_t client_to_host = 0;
    uint64_t host_to_client = 0;
    std::string closed_by;  // "client", "host" or "gateway"
    std::string reason;
    std::optional<rdp::Failure> failure;  // when the bridge refused to go on
};

using FactSink = std::function<void(const rdp::Fact&)>;

namespace detail {

struct Direction {
    std::chrono::steady_clock::time_point* last_activity = nullptr;
    uint64_t bytes = 0;
    std::string end;  // why this direction stopped
    std::optional<rdp::Failure> failure;
};

// Client-to-host (upstream) or host-to-client through the bridge, until the bridge declares the
// direction transparent.
struct Translator {
    rdp::Bridge& bridge;
    bool upstream;
    const FactSink& facts;

    bool transparent() const {
        return upstream ? bridge.client_transparent() : bridge.host_transparent();
    }
    std::optional<rdp::Failure> operator()(rdp::ByteView in, rdp::Bytes& out) const {
        auto failure = upstream ? bridge.from_client(in, out) : bridge.from_host(in, out);
        for (auto& f : bridge.take_facts()) facts(f);
        return failure;
    }
};

inline std::string describe_end(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ? "closed"
                                                                              : ec.message();
}

// Waits until `from` has bytes to read. A TlsStream knows when it holds decrypted bytes; a raw
// socket (the Standard RDP Security leg) is readable when the kernel says so.
template <class Stream>
awaitable<void> until_readable(Stream& from, boost::system::error_code& ec) {
    if constexpr (requires { from.async_wait_readable(use_awaitable); })
        co_await from.async_wait_readable(asio::redirect_error(use_awaitable, ec));
    else
        co_await from.async_wait(tcp::socket::wait_read, asio::redirect_error(use_awaitable, ec));
}

// `first`: bytes that arrived before the relay began (the client's MCS Connect Initial sent
// right behind its CredSSP credentials), handled as if just read.
template <class From, class To>
awaitable<void> pump(From& from, To& to, std::size_t buffer_size, Translator translate,
                     Direction& d, rdp::Bytes first = {}) {
    boost::system::error_code ec;
    for (;;) {
        std::unique_ptr<uint8_t[]> buffer;
        std::size_t n = first.size();
        if (first.empty()) {
            // The buffer exists only while bytes are in flight: an idle session holds none, so
            // 10,000 idle sessions cost no relay memory, and a busy one can use large buffers.
            co_await until_readable(from, ec);
            if (ec) {
                d.end = describe_end(ec);
                break;
            }
            // Not zero-filled: it is overwritten by the read.
            buffer = std::make_unique_for_overwrite<uint8_t[]>(buffer_size);
            n = co_await from.async_read_some(asio::buffer(buffer.get(), buffer_size),
                                              asio::redirect_error(use_awaitable, ec));
            if (ec) {
                d.end = describe_end(ec);
                break;
            }
        }
        const rdp::Bytes earlier = std::exchange(first, {});
        d.bytes += n;
        *d.last_activity = std::chrono::steady_clock::now();
        rdp::ByteView out = buffer ? rdp::ByteView(buffer.get(), n) : rdp::ByteView(earlier);
        rdp::Bytes translated;
        if (!translate.transparent()) {
            if (auto failure = translate(out, translated)) {
                d.end = std::string(rdp::describe(failure->cause).id) + ": " + failure->detail;
                d.failure = std::move(failure);
                break;
            }
            out = translated;  // may be empty while a PDU is incomplete
        }
        if (out.empty()) continue;
        co_await asio::async_write(to, asio::buffer(out.data(), out.size()),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec) {
            d.end = "write failed: " + ec.message();
            break;
        }
    }
}

// Sends close_notify to a TLS peer that is still connected; a raw TCP stream needs nothing. A
// peer that does not take it within the limit has its socket closed. The limit is a Watchdog, so
// an expiry queued just as the shutdown completes cannot reach this coroutine's frame (or the
// stream) after it has returned.
template <class Stream>
awaitable<void> say_goodbye(Stream& s) {
    if constexpr (requires { s.async_shutdown(use_awaitable); }) {
        Watchdog limit(co_await asio::this_coro::executor);
        limit.arm(std::chrono::seconds(2), [&s] {
            boost::system::error_code ignored;
            s.lowest_layer().close(ignored);
        });
        boost::system::error_code ec;
        co_await s.async_shutdown(asio::redirect_error(use_awaitable, ec));
        limit.disarm();
    }
}

}  // namespace detail

// Runs until either side closes or the bridge fails, then closes both sides: a TLS
// close_notify to whichever peer is still there, bounded by a short deadline.
// Closes an idle session: no byte in either direction for `timeout` (zero: never).
inline awaitable<void> idle_watch(asio::steady_timer& timer,
                                  const std::chrono::steady_clock::time_point& last_activity,
                                  std::chrono::milliseconds timeout, bool& fired,
                                  std::function<void()> close) {
    if (timeout.count() == 0) co_return;
    boost::system::error_code ec;
    for (;;) {
        timer.expires_at(last_activity + timeout);
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        if (ec) co_return;  // the relay ended first
        if (std::chrono::steady_clock::now() >= last_activity + timeout) break;
    }
    fired = true;
    close();
}

template <class ClientStream, class HostStream>
awaitable<RelayResult> relay(ClientStream& client, HostStream& host, rdp::Bridge& bridge,
                             std::size_t buffer_size, std::chrono::milliseconds idle_timeout,
                             FactSink facts, rdp::Bytes client_early = {}) {
    auto ex = co_await asio::this_coro::executor;
    auto last_activity = std::chrono::steady_clock::now();
    detail::Direction up, down;  // client -> host, host -> client
    up.last_activity = down.last_activity = &last_activity;
    asio::steady_timer idle(ex);
    bool idle_fired = false;
    asio::steady_timer both_done(ex, asio::steady_timer::time_point::max());
    int running = 2;
    const char* first = nullptr;
    // The first direction to stop ends the session: cancel the other one's pending read.
    auto finished = [&](const char* who) {
        if (!first) {
            first = who;
            boost::system::error_code ignored;
            client.lowest_layer().cancel(ignored);
            host.lowest_layer().cancel(ignored);
            idle.cancel();
        }
        if (--running == 0) both_done.cancel();
    };
    asio::co_spawn(
        ex,
        detail::pump(client, host, buffer_size, {bridge, true, facts}, up, std::move(client_early)),
        [&](std::exception_ptr) { finished("client"); });
    asio::co_spawn(ex, detail::pump(host, client, buffer_size, {bridge, false, facts}, down),
                   [&](std::exception_ptr) { finished("host"); });
    asio::co_spawn(ex,
                   idle_watch(idle, last_activity, idle_timeout, idle_fired,
                              [&] {
                                  boost::system::error_code ignored;
                                  client.lowest_layer().cancel(ignored);
                                  host.lowest_layer().cancel(ignored);
                              }),
                   asio::detached);
    boost::system::error_code ec;
    co_await both_done.async_wait(asio::redirect_error(use_awaitable, ec));

    const bool client_first = std::string(first) == "client";
    const detail::Direction& ended = client_first ? up : down;
    if (ended.failure) {
        co_await detail::say_goodbye(client);
        co_await detail::say_goodbye(host);
    } else if (client_first) {
        co_await detail::say_goodbye(host);
    } else {
        co_await detail::say_goodbye(client);
    }
    RelayResult result;
    result.client_to_host = up.bytes;
    result.host_to_client = down.bytes;
    result.closed_by = ended.failure || idle_fired ? "gateway" : first;
    result.reason = idle_fired ? "idle_timeout: no data either way for " +
                                     std::to_string(idle_timeout.count() / 1000) +
                                     " s ([limits] idle_timeout)"
                               : ended.end;
    result.failure = ended.failure;
    co_return result;
}

}  // namespace rdpbridge::proxy
