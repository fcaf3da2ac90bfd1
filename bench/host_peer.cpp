// The synthetic Windows 7-like host: X.224 confirm selecting TLS, a TLS 1.0 AES-CBC-SHA
// handshake, the MCS Connect Response, then fast-path output PDUs per profile while counting
// the input that arrives.
#include <random>

#include "bench/pdu_splitter.hpp"
#include "bench/pdus.hpp"
#include "bench/peers.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::bench::peers {

namespace {

constexpr std::size_t kReadBuffer = 64 * 1024;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("host " + what);
}

uint32_t check_request(const rdp::Bytes& frame) {
    auto request = rdp::decode_connection_request(frame);
    if (!request) fail("x224: " + request.error().message());
    const uint32_t requested = request->negotiation ? request->negotiation->requested_protocols : 0;
    if (!(requested & rdp::protocol::ssl)) fail("x224: the request does not offer PROTOCOL_SSL");
    return requested;
}

awaitable<void> send_output(HostSide& side, std::shared_ptr<Conn> conn, HostProfile profile) {
    rdp::Bytes pdu = fastpath_output(profile.output_pdu);
    asio::steady_timer timer(side.io);
    // A random phase per session, so that paced sessions do not all send at the same instant.
    static std::minstd_rand random(42);
    auto next = Clock::now() + std::chrono::nanoseconds(profile.interval.count()
                                                            ? random() % profile.interval.count()
                                                            : 0);
    error_code ec;
    for (uint64_t sequence = 0; !side.tally.stopping; ++sequence) {
        if (profile.interval.count()) {
            timer.expires_at(next);
            co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
            if (ec) break;
            next += profile.interval;
        }
        stamp_output(pdu, now_ns(), sequence);
        co_await asio::async_write(conn->stream, asio::buffer(pdu),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec) break;
    }
}

awaitable<void> count_input(HostSide& side, Conn& conn) {
    std::unique_ptr<uint8_t[]> buffer(new uint8_t[kReadBuffer]);
    PduSplitter splitter;
    error_code ec;
    std::string broken;
    for (;;) {
        const std::size_t n = co_await conn.stream.async_read_some(
            asio::buffer(buffer.get(), kReadBuffer), asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        side.tally.bytes_up.fetch_add(n, std::memory_order_relaxed);
        uint64_t pdus = 0;
        broken = splitter.feed({buffer.get(), n}, [&](rdp::ByteView, std::size_t) { ++pdus; });
        side.tally.pdus_up.fetch_add(pdus, std::memory_order_relaxed);
        if (!broken.empty()) {
            side.tally.fail("host received a non-RDP stream: " + broken);
            break;
        }
    }
}

awaitable<void> host_session(HostSide& side, tcp::socket socket) {
    auto conn = std::make_shared<Conn>(std::move(socket), side.tls, side.registry);
    const char* stage = "x224";
    try {
        {
            Deadline deadline(side.io, conn, kHandshakeLimit);
            auto& raw = conn->stream.next_layer();
            raw.set_option(tcp::no_delay(true));
            const uint32_t requested = check_request(co_await read_tpkt(raw, "host x224"));
            static const rdp::Bytes confirm = connection_confirm_ssl();
            co_await asio::async_write(raw, asio::buffer(confirm), use_awaitable);

            stage = "tls";
            co_await conn->stream.async_handshake(asio::ssl::stream_base::server, use_awaitable);
            side.tally.note_negotiated(true, version_of(conn->stream), cipher_of(conn->stream));

            stage = "mcs";
            auto initial = check_connect_initial(co_await read_tpkt(conn->stream, "host mcs"));
            if (!initial) fail("mcs: " + initial.error().message());
            const rdp::Bytes response = connect_response(requested, initial->channel_count);
            co_await asio::async_write(conn->stream, asio::buffer(response), use_awaitable);
        }
        stage = "relay";
        side.tally.host_established.fetch_add(1, std::memory_order_relaxed);
        if (side.profile.send)
            asio::co_spawn(side.io, send_output(side, conn, side.profile), asio::detached);
        co_await count_input(side, *conn);
    } catch (const std::exception& e) {
        if (!side.tally.stopping) side.tally.fail(std::string("host ") + stage + ": " + e.what());
    }
    conn->close();
}

}  // namespace

awaitable<void> host_accept_loop(HostSide& side) {
    for (;;) {
        error_code ec;
        tcp::socket socket =
            co_await side.acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            side.tally.fail("host accept: " + ec.message());
            // EMFILE: the descriptor limit; retry shortly rather than spin.
            asio::steady_timer pause(side.io, std::chrono::milliseconds(50));
            co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        asio::co_spawn(side.io, host_session(side, std::move(socket)), asio::detached);
    }
}

}  // namespace rdpbridge::bench::peers
