// Full-duplex relay between the client's and the host's streams after the handshake. Each
// direction reads into one buffer and writes it out before reading again, so no more than
// `buffer_size` bytes per direction are ever held: a peer that stops reading stalls its sender,
// it does not grow memory. The buffer is allocated when bytes arrive and freed once they are
// written, so an idle session holds none. The Bridge sees the bytes until it declares a direction
// transparent; after that, bytes pass without a copy.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/idle.hpp"
#include "proxy/watchdog.hpp"
#include "rdp/bridge.hpp"
#include "rdp/secret.hpp"

namespace rdpbridge::proxy {

struct RelayResult {
    uint64_t client_to_host = 0;
    uint64_t host_to_client = 0;
    std::string closed_by;  // "client", "host" or "gateway"
    // Whose bytes came last ("client", "host", or empty if none came): before the session is
    // established each side answers the other, so the one that spoke last waits on the other.
    std::string last_spoke;
    std::string reason;  // "closed", "peer_vanished", an error's text, ...
    // When the bridge refused to go on, or (internal_error) the relay itself failed.
    std::optional<rdp::Failure> failure;
};

using FactSink = std::function<void(const rdp::Fact&)>;

// A live session's byte counts, read by the status page while the relay runs on its own loop.
// Relaxed stores of a running total: a reader sees some recent value, never a torn one.
struct RelayCounters {
    std::atomic<uint64_t> client_to_host{0};
    std::atomic<uint64_t> host_to_client{0};
};

namespace detail {

// Both directions may write to the client: the host's bytes, and the gateway's own replies
// (Bridge::take_replies). Each write is one async_write; taking turns keeps two from
// interleaving. The session's loop is one thread, so a flag and a timer to wake on suffice.
struct WriteTurn {
    explicit WriteTurn(const asio::any_io_executor& ex)
        : wake(ex, asio::steady_timer::time_point::max()) {}
    bool busy = false;
    bool waiting = false;     // someone waits on `wake`
    asio::steady_timer wake;  // never expires; cancelled when a turn ends or the relay stops
};

struct Direction {
    const char* from = nullptr;  // "client" or "host": the peer this direction reads
    const char* to = nullptr;    // the peer it writes to
    std::chrono::steady_clock::time_point* last_activity = nullptr;
    // Set once the relay ends: neither direction starts another operation after that.
    const bool* stopping = nullptr;
    const char** last_spoke = nullptr;  // shared by both directions
    uint64_t bytes = 0;
    std::atomic<uint64_t>* live = nullptr;  // `bytes`, for readers on other threads
    // Bytes read before `bytes` reaches this are wiped once written: the client's first bytes
    // carry its Client Info, with its password, in clear once the front TLS is off.
    uint64_t wipe_below = 0;
    WriteTurn* to_turn = nullptr;     // taken to write to `to`, when the other direction may too
    WriteTurn* reply_turn = nullptr;  // taken to write the bridge's replies back to `from`
    std::string end;                  // why this direction stopped
    const char* ended_by = nullptr;   // the peer whose read or write ended it
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
    // What the bridge answers the peer this direction reads from (the client, upstream).
    rdp::Bytes replies() const { return upstream ? bridge.take_replies() : rdp::Bytes{}; }
};

// async_write of `out` to `to`, in turn with the other direction when `turn` is set.
template <class Stream>
awaitable<void> write_all(Stream& to, rdp::ByteView out, WriteTurn* turn, const bool& stopping,
                          boost::system::error_code& ec) {
    if (turn) {
        while (turn->busy) {
            if (stopping) {
                ec = asio::error::operation_aborted;
                co_return;
            }
            boost::system::error_code woken;
            turn->waiting = true;
            co_await turn->wake.async_wait(asio::redirect_error(use_awaitable, woken));
            turn->waiting = false;
        }
        turn->busy = true;
    }
    co_await asio::async_write(to, asio::buffer(out.data(), out.size()),
                               asio::redirect_error(use_awaitable, ec));
    if (turn) {
        turn->busy = false;
        if (turn->waiting) turn->wake.cancel();
    }
}

// A peer that stopped answering without closing (unplugged, powered off, its network gone): TCP
// keepalive or the user timeout gave up on it, or the path to it is gone.
inline bool vanished(const boost::system::error_code& ec) {
    return ec == asio::error::timed_out || ec == asio::error::host_unreachable ||
           ec == asio::error::network_unreachable;
}

inline std::string describe_end(const boost::system::error_code& ec) {
    if (vanished(ec)) return "peer_vanished";
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
    // Once the relay ends, an operation that had already completed must not lead to a new one
    // (a wait that nothing would cancel): every operation starts only after this check.
    const auto ended = [&d] { return *d.stopping; };
    for (;;) {
        std::unique_ptr<uint8_t[]> buffer;
        std::size_t n = first.size();
        if (first.empty()) {
            // The buffer exists only while bytes are in flight: an idle session holds none, so
            // 10,000 idle sessions cost no relay memory, and a busy one can use large buffers.
            if (ended()) break;
            co_await until_readable(from, ec);
            if (ec) {
                d.end = describe_end(ec);
                d.ended_by = d.from;
                break;
            }
            if (ended()) break;
            // Not zero-filled: it is overwritten by the read.
            buffer = std::make_unique_for_overwrite<uint8_t[]>(buffer_size);
            n = co_await from.async_read_some(asio::buffer(buffer.get(), buffer_size),
                                              asio::redirect_error(use_awaitable, ec));
            if (ec) {
                d.end = describe_end(ec);
                d.ended_by = d.from;
                break;
            }
        }
        rdp::Bytes earlier = std::exchange(first, {});
        const bool may_hold_secret = d.bytes < d.wipe_below;
        const rdp::WipeOnExit wipe_read(may_hold_secret ? buffer.get() : nullptr, n);
        const rdp::WipeOnExit wipe_earlier(earlier);
        d.bytes += n;
        if (d.live) d.live->store(d.bytes, std::memory_order_relaxed);
        if (n > 0) *d.last_spoke = d.from;
        *d.last_activity = std::chrono::steady_clock::now();
        rdp::ByteView out = buffer ? rdp::ByteView(buffer.get(), n) : rdp::ByteView(earlier);
        rdp::Bytes translated;
        const rdp::WipeOnExit wipe_translated(translated);  // may hold a rewritten Client Info
        if (!translate.transparent()) {
            if (auto failure = translate(out, translated)) {
                d.end = std::string(rdp::describe(failure->cause).id) + ": " + failure->detail;
                d.failure = std::move(failure);
                break;
            }
            out = translated;  // may be empty while a PDU is incomplete
            if (const rdp::Bytes replies = translate.replies(); !replies.empty()) {
                if (ended()) break;
                co_await write_all(from, replies, d.reply_turn, *d.stopping, ec);
                if (ec) {
                    d.end = vanished(ec) ? describe_end(ec) : "write failed: " + ec.message();
                    d.ended_by = d.from;
                    break;
                }
            }
        }
        if (out.empty()) continue;
        if (ended()) break;
        co_await write_all(to, out, d.to_turn, *d.stopping, ec);
        if (ec) {
            d.end = vanished(ec) ? describe_end(ec) : "write failed: " + ec.message();
            d.ended_by = d.to;
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

// Calls `on_idle` when no byte went either way for `timeout` (zero: never). The relay cancels
// the timer when it ends; a wake-up that was already queued then still comes, so `on_idle` must
// ignore a relay that has ended.
inline awaitable<void> idle_watch(asio::steady_timer& timer,
                                  const std::chrono::steady_clock::time_point& last_activity,
                                  std::chrono::milliseconds timeout,
                                  std::function<void()> on_idle) {
    if (timeout.count() == 0) co_return;
    boost::system::error_code ec;
    for (;;) {
        timer.expires_at(last_activity + timeout);
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        if (ec) co_return;  // the relay ended first
        if (idle_expired(std::chrono::steady_clock::now(), last_activity, timeout)) break;
    }
    on_idle();
}

inline constexpr std::chrono::seconds kTeardownLimit{2};
// How much of the client's stream is wiped after use: its Client Info follows the MCS Connect
// Initial, the domain and channel joins (a few KiB); what comes later is screen input.
inline constexpr uint64_t kClientSecretWindow = 64 * 1024;

// Runs until either side closes, the bridge fails or the session is idle too long, then tears
// down: reading stops on both legs at once, a TLS close_notify goes to whichever peer is still
// there (bounded by a short deadline), and both sockets are closed. The relay returns only once
// everything it started has finished, so nothing it started can outlive its frame.
template <class ClientStream, class HostStream>
awaitable<RelayResult> relay(ClientStream& client, HostStream& host, rdp::Bridge& bridge,
                             std::size_t buffer_size, std::chrono::milliseconds idle_timeout,
                             FactSink facts, rdp::Bytes client_early = {},
                             RelayCounters* counters = nullptr) {
    auto ex = co_await asio::this_coro::executor;
    auto last_activity = std::chrono::steady_clock::now();
    bool stopping = false;
    detail::Direction up, down;
    up.from = down.to = "client";
    up.to = down.from = "host";
    up.last_activity = down.last_activity = &last_activity;
    up.stopping = down.stopping = &stopping;
    const char* last_spoke = nullptr;
    up.last_spoke = down.last_spoke = &last_spoke;
    up.wipe_below = kClientSecretWindow;
    // Only a channel policy makes the bridge answer the client itself; without one the relay
    // writes to each peer from one direction only, as before.
    detail::WriteTurn client_turn(ex);
    if (bridge.channel_policy()) up.reply_turn = down.to_turn = &client_turn;
    if (counters) {
        up.live = &counters->client_to_host;
        down.live = &counters->host_to_client;
    }
    asio::steady_timer idle(ex);
    bool idle_fired = false;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    int running = 3;  // the two pumps and the idle watch
    const detail::Direction* first = nullptr;
    std::exception_ptr error;
    const auto close_both = [&] {
        boost::system::error_code ignored;
        client.lowest_layer().close(ignored);
        host.lowest_layer().close(ignored);
    };
    // A pump that is inside a TLS operation whose step had already completed may still start
    // one more wait, and a write may wait on a peer that does not read: past this limit the
    // sockets close under them.
    Watchdog stragglers(ex);
    // The first direction to stop (or the idle watch) ends the relay. Cancelling only recalls
    // pending operations, so reading also stops at the socket: after shutdown(SHUT_RD) every
    // read and readiness wait on either leg completes at once, while a close_notify can still be
    // written.
    const auto stop = [&](const detail::Direction* who) {
        if (stopping) return;
        stopping = true;
        first = who;
        const auto stop_reading = [](auto& socket) {
            boost::system::error_code ignored;
            socket.cancel(ignored);
            socket.shutdown(tcp::socket::shutdown_receive, ignored);
        };
        stop_reading(client.lowest_layer());
        stop_reading(host.lowest_layer());
        idle.cancel();
        client_turn.wake.cancel();
        stragglers.arm(kTeardownLimit, close_both);
    };
    const auto task_done = [&] {
        if (--running == 0) all_done.cancel();
    };
    const auto pump_done = [&](const detail::Direction& d, std::exception_ptr e) {
        if (e && !error) error = e;
        stop(&d);
        task_done();
    };
    asio::co_spawn(
        ex,
        detail::pump(client, host, buffer_size, {bridge, true, facts}, up, std::move(client_early)),
        [&](std::exception_ptr e) { pump_done(up, e); });
    asio::co_spawn(ex, detail::pump(host, client, buffer_size, {bridge, false, facts}, down),
                   [&](std::exception_ptr e) { pump_done(down, e); });
    asio::co_spawn(ex,
                   idle_watch(idle, last_activity, idle_timeout,
                              [&] {
                                  if (stopping) return;
                                  idle_fired = true;
                                  stop(nullptr);
                              }),
                   [&](std::exception_ptr e) {
                       if (e && !error) error = e;
                       task_done();
                   });
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(use_awaitable, ec));
    stragglers.disarm();

    // Which peer is still there to say goodbye to: the one that did not end it.
    const detail::Direction& ended = first ? *first : down;
    const bool gateway_ended = idle_fired || ended.failure || error;
    if (gateway_ended || !ended.ended_by) {
        co_await detail::say_goodbye(client);
        co_await detail::say_goodbye(host);
    } else if (std::string_view(ended.ended_by) == "client") {
        co_await detail::say_goodbye(host);
    } else {
        co_await detail::say_goodbye(client);
    }
    close_both();

    RelayResult result;
    result.client_to_host = up.bytes;
    result.host_to_client = down.bytes;
    result.last_spoke = last_spoke ? last_spoke : "";
    result.closed_by = gateway_ended || !ended.ended_by ? "gateway" : ended.ended_by;
    if (error) {
        std::string what = "an exception that is not a std::exception";
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        result.reason = "internal_error: " + what;
        result.failure = rdp::Failure{rdp::Cause::internal_error, what};
    } else if (idle_fired) {
        result.reason = idle_reason(idle_timeout);
    } else {
        result.reason = ended.end;
        result.failure = ended.failure;
    }
    co_return result;
}

}  // namespace rdpbridge::proxy
