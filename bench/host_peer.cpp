// The synthetic host, per profile either Windows 7-like (X.224 confirm selecting TLS, a TLS 1.0
// AES-CBC-SHA handshake, the MCS Connect Response) or XP / Server 2003-like (confirm selecting
// Standard RDP Security, the Connect Response with its random and certificate, then the
// gateway's Security Exchange and Client Info); then fast-path output PDUs per profile while
// counting the input that arrives. In bare-TLS mode (a peer proxy that cannot speak X.224 is in
// front) the Windows 7-like host starts with the TLS handshake, as if the X.224 exchange had
// happened and selected PROTOCOL_SSL.
#include <random>

#include "bench/crypto_bound.hpp"
#include "bench/host_rdp_security.hpp"
#include "bench/pdu_splitter.hpp"
#include "bench/pdus.hpp"
#include "bench/peers.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::bench::peers {

namespace {

constexpr std::size_t kReadBuffer = 64 * 1024;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("host " + what);
}

uint32_t check_request(const rdp::Bytes& frame, bool tls) {
    auto request = rdp::decode_connection_request(frame);
    if (!request) fail("x224: " + request.error().message());
    const uint32_t requested = request->negotiation ? request->negotiation->requested_protocols : 0;
    if (tls && !(requested & rdp::protocol::ssl))
        fail("x224: the request does not offer PROTOCOL_SSL");
    return requested;
}

// The client's MCS domain sequence (HostProfile::client_joins): Erect Domain, Attach User and a
// Channel Join per channel, each answered, up to the client's first Send Data Request, which is
// returned (the Client Info, or towards a Standard RDP Security host the gateway's Security
// Exchange). A join may name only channels this host gave: the user's, the I/O channel and the
// `static_channels` ids of its SC_NET.
template <class Stream>
awaitable<rdp::Bytes> answer_domain(HostSide& side, Stream& stream, std::size_t static_channels) {
    static const rdp::Bytes attach_confirm = attach_user_confirm();
    for (;;) {
        rdp::Bytes frame = co_await read_tpkt(stream, "host domain");
        auto payload = rdp::unwrap_x224_data(frame);
        if (!payload) fail("domain: " + payload.error().message());
        auto type = rdp::mcs::domain_pdu_type(*payload);
        if (!type) fail("domain: " + type.error().message());
        switch (*type) {
            case rdp::mcs::DomainPdu::erect_domain_request:
                break;
            case rdp::mcs::DomainPdu::attach_user_request:
                co_await asio::async_write(stream, asio::buffer(attach_confirm), use_awaitable);
                break;
            case rdp::mcs::DomainPdu::channel_join_request: {
                auto join = rdp::mcs::decode_channel_join_request(*payload);
                if (!join) fail("join: " + join.error().message());
                const uint16_t c = join->channel;
                const bool ours = c == 1001 + kUserInitiator || c == kIoChannel ||
                                  (c > kIoChannel && c <= kIoChannel + static_channels);
                if (!ours) fail("join: channel " + std::to_string(c) + " is none this host gave");
                const rdp::Bytes confirm = rdp::mcs::encode_channel_join_confirm(*join);
                co_await asio::async_write(stream, asio::buffer(confirm), use_awaitable);
                side.tally.host_channel_joins.fetch_add(1, std::memory_order_relaxed);
                break;
            }
            case rdp::mcs::DomainPdu::send_data_request:
                co_return frame;
            default:
                fail("domain: unexpected MCS domain PDU type " + std::to_string(unsigned(*type)));
        }
    }
}

// `security` is set for a Standard RDP Security session, which runs on the bare socket.
awaitable<void> send_output(HostSide& side, std::shared_ptr<Conn> conn, HostProfile profile,
                            std::shared_ptr<HostRdpSecurity> security) {
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
        if (security) {
            const rdp::Bytes sealed = security->seal_output(pdu);
            co_await asio::async_write(conn->stream.next_layer(), asio::buffer(sealed),
                                       asio::redirect_error(use_awaitable, ec));
        } else {
            co_await asio::async_write(conn->stream, asio::buffer(pdu),
                                       asio::redirect_error(use_awaitable, ec));
        }
        if (ec) break;
    }
}

// Counts the input's plaintext bytes: `overhead` is what the security layer adds to each PDU
// (the MAC, and the FIPS header; FIPS padding of up to 7 bytes is counted as data).
template <class Stream>
awaitable<void> count_input(HostSide& side, Stream& stream, std::size_t overhead) {
    std::unique_ptr<uint8_t[]> buffer(new uint8_t[kReadBuffer]);
    PduSplitter splitter;
    error_code ec;
    for (;;) {
        const std::size_t n = co_await stream.async_read_some(
            asio::buffer(buffer.get(), kReadBuffer), asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        uint64_t pdus = 0;
        const std::string broken =
            splitter.feed({buffer.get(), n}, [&](rdp::ByteView, std::size_t) { ++pdus; });
        side.tally.bytes_up.fetch_add(n - std::min(n, pdus * overhead), std::memory_order_relaxed);
        side.tally.pdus_up.fetch_add(pdus, std::memory_order_relaxed);
        if (!broken.empty()) {
            side.tally.fail("host received a non-RDP stream: " + broken);
            break;
        }
    }
}

awaitable<void> host_session(HostSide& side, tcp::socket socket) {
    auto conn = std::make_shared<Conn>(std::move(socket), side.tls, side.registry);
    const HostProfile profile = side.profile;
    const bool tls = profile.rdp_method == 0;
    std::shared_ptr<HostRdpSecurity> security;
    const char* stage = "x224";
    try {
        {
            Deadline deadline(side.io, conn, kHandshakeLimit);
            auto& raw = conn->stream.next_layer();
            raw.set_option(tcp::no_delay(true));
            // Bare TLS: what the X.224 request would have offered, for SC_CORE's echo.
            uint32_t requested = rdp::protocol::ssl;
            if (profile.x224) {
                requested = check_request(co_await read_tpkt(raw, "host x224"), tls);
                const rdp::Bytes confirm =
                    connection_confirm(tls ? rdp::protocol::ssl : rdp::protocol::rdp);
                co_await asio::async_write(raw, asio::buffer(confirm), use_awaitable);
            }

            if (tls) {
                stage = "tls";
                co_await conn->stream.async_handshake(asio::ssl::stream_base::server,
                                                      use_awaitable);
                side.tally.note_negotiated(true, version_of(conn->stream), cipher_of(conn->stream));
                side.tally.host_tls_handshakes.fetch_add(1, std::memory_order_relaxed);
                if (SSL_session_reused(conn->stream.native_handle()))
                    side.tally.host_resumed.fetch_add(1, std::memory_order_relaxed);
                stage = "mcs";
                auto initial = check_connect_initial(co_await read_tpkt(conn->stream, "host mcs"));
                if (!initial) fail("mcs: " + initial.error().message());
                side.tally.host_static_channels.fetch_add(initial->channel_count,
                                                          std::memory_order_relaxed);
                const rdp::Bytes response = connect_response(requested, initial->channel_count);
                co_await asio::async_write(conn->stream, asio::buffer(response), use_awaitable);
                if (profile.client_joins) {
                    stage = "domain";
                    // The Client Info: input like what follows it.
                    const rdp::Bytes info =
                        co_await answer_domain(side, conn->stream, initial->channel_count);
                    side.tally.bytes_up.fetch_add(info.size(), std::memory_order_relaxed);
                    side.tally.pdus_up.fetch_add(1, std::memory_order_relaxed);
                }
            } else {
                stage = "mcs";
                auto initial = check_connect_initial(co_await read_tpkt(raw, "host mcs"));
                if (!initial) fail("mcs: " + initial.error().message());
                side.tally.host_static_channels.fetch_add(initial->channel_count,
                                                          std::memory_order_relaxed);
                security =
                    std::make_shared<HostRdpSecurity>(side.tls.native_handle(), profile.rdp_method);
                const rdp::Bytes sc_security = security->sc_security();
                const rdp::Bytes response =
                    connect_response(requested, initial->channel_count, &sc_security);
                co_await asio::async_write(raw, asio::buffer(response), use_awaitable);
                // The joins come before the Security Exchange, as towards Windows XP.
                rdp::Bytes exchange;
                if (profile.client_joins) {
                    stage = "domain";
                    exchange = co_await answer_domain(side, raw, initial->channel_count);
                } else {
                    exchange = co_await read_tpkt(raw, "host security exchange");
                }
                stage = "security exchange";
                security->accept_exchange(exchange);
                stage = "client info";
                security->check_client_info(co_await read_tpkt(raw, "host client info"));
                side.tally.note_negotiated(true, kRdpSecurity, rdp_method_name(profile.rdp_method));
            }
        }
        stage = "relay";
        side.tally.host_established.fetch_add(1, std::memory_order_relaxed);
        if (profile.send)
            asio::co_spawn(side.io, send_output(side, conn, profile, security), asio::detached);
        if (tls) {
            co_await count_input(side, conn->stream, 0);
        } else {
            co_await count_input(side, conn->stream.next_layer(), security->overhead());
        }
    } catch (const std::exception& e) {
        if (!side.tally.stopping) side.tally.fail(std::string("host ") + stage + ": " + e.what());
    }
    // However the connection ended, its session stays resumable, as with Schannel and as TLS 1.1
    // made the rule (RFC 4346 7.2.1). OpenSSL applies TLS 1.0's older one: freeing a connection
    // that has not sent close_notify removes its session from the server's cache; no peer here
    // waits for one, so without this every session would leave the cache when its first
    // connection ends, and a proxy's later offers of it would be declined.
    if (tls) SSL_set_shutdown(conn->stream.native_handle(), SSL_SENT_SHUTDOWN);
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
