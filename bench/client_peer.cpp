// The synthetic RDP client: X.224 request offering TLS (or none, in bare-TLS mode, towards a peer
// proxy that cannot speak X.224), a TLS 1.3 handshake, the MCS connect exchange, then silence,
// the channel joins, a Client Info and saturating input, or latency probing, per profile.
#include <netinet/in.h>

#include "bench/pdu_splitter.hpp"
#include "bench/pdus.hpp"
#include "bench/peers.hpp"
#include "rdp/channel_filter.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::bench::peers {

namespace {

// Large enough that one read takes a whole TLS record; idle sessions get a small one so that
// 10,000 of them stay cheap in the bench.
constexpr std::size_t kBusyReadBuffer = 64 * 1024;
constexpr std::size_t kIdleReadBuffer = 512;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("client " + what);
}

void check_confirm(const rdp::Bytes& frame) {
    auto confirm = rdp::decode_connection_confirm(frame);
    if (!confirm) fail("x224: " + confirm.error().message());
    const auto* rsp = std::get_if<rdp::NegotiationResponse>(&confirm->negotiation);
    if (!rsp || rsp->selected_protocol != rdp::protocol::ssl)
        fail("x224: the confirm does not select PROTOCOL_SSL");
}

ConnectResponseFacts check_response(const rdp::Bytes& frame) {
    auto facts = check_connect_response(frame);
    if (!facts) fail("mcs: " + facts.error().message());
    // mstsc compares this with what it requested, as a downgrade check; so do we.
    if (facts->client_requested_protocols != rdp::protocol::ssl)
        fail("mcs: SC_CORE.clientRequestedProtocols does not echo PROTOCOL_SSL");
    if (facts->channel_ids.size() != kClientChannels)
        fail("mcs: SC_NET gives " + std::to_string(facts->channel_ids.size()) +
             " channel ids for the " + std::to_string(kClientChannels) + " in CS_NET");
    return std::move(*facts);
}

// The MCS domain sequence as mstsc runs it: Erect Domain, Attach User, then one Channel Join at
// a time (user channel, I/O channel, each static channel by its id in SC_NET), each confirm
// awaited. A gateway that kept a channel from the host answers its join itself, under an id of
// its own (0xF000 and up, rdp/channel_filter.hpp): counted, to show the policy was in effect.
awaitable<void> join_channels(SharedTally& tally, SslStream& stream,
                              const ConnectResponseFacts& net) {
    static const rdp::Bytes erect = erect_domain_request();
    static const rdp::Bytes attach = attach_user_request();
    co_await asio::async_write(stream, asio::buffer(erect), use_awaitable);
    co_await asio::async_write(stream, asio::buffer(attach), use_awaitable);
    auto user = read_attach_user_confirm(co_await read_tpkt(stream, "client attach user"));
    if (!user) fail("attach user: " + user.error().message());
    // The Client Info is built for this user (client_info_pdu).
    if (*user != kUserInitiator)
        fail("attach user: granted initiator " + std::to_string(*user) + ", expected " +
             std::to_string(kUserInitiator));
    std::vector<uint16_t> channels = {uint16_t(1001 + *user), net.io_channel};
    channels.insert(channels.end(), net.channel_ids.begin(), net.channel_ids.end());
    uint64_t gateways = 0;
    for (const uint16_t channel : channels) {
        const rdp::Bytes request = channel_join_request(*user, channel);
        co_await asio::async_write(stream, asio::buffer(request), use_awaitable);
        auto granted = read_channel_join_confirm(co_await read_tpkt(stream, "client join"));
        if (!granted) fail("join " + std::to_string(channel) + ": " + granted.error().message());
        if (*granted != channel)
            fail("join " + std::to_string(channel) + ": the confirm is for channel " +
                 std::to_string(*granted));
        if (channel >= rdp::ChannelFilter::kFirstGatewayChannel) ++gateways;
    }
    tally.gateway_channel_joins.fetch_add(gateways, std::memory_order_relaxed);
}

awaitable<void> send_input(SharedTally& tally, std::shared_ptr<Conn> conn, std::size_t events,
                           bool rdpdr_data) {
    // A real client's first PDU after the connect exchange (and the cue for a gateway in front
    // of a Standard RDP Security host to send its Security Exchange, and for the host to start).
    static const rdp::Bytes info = client_info_pdu();
    error_code ec;
    co_await asio::async_write(conn->stream, asio::buffer(info),
                               asio::redirect_error(use_awaitable, ec));
    if (events == 0) co_return;
    const rdp::Bytes pdu = fastpath_input(events);
    const rdp::Bytes channel_pdu =
        rdpdr_data ? rdpdr_read_response(conn->rdpdr_channel) : rdp::Bytes();
    while (!ec && !tally.stopping) {
        co_await asio::async_write(conn->stream, asio::buffer(pdu),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec || channel_pdu.empty()) continue;
        co_await asio::async_write(conn->stream, asio::buffer(channel_pdu),
                                   asio::redirect_error(use_awaitable, ec));
    }
}

}  // namespace

awaitable<std::shared_ptr<Conn>> client_connect(ClientSide& side, asio::ip::address_v4 source,
                                                tcp::endpoint target, bool direct, bool x224,
                                                bool join) {
    auto conn = std::make_shared<Conn>(side.io, direct ? side.direct : side.modern, side.registry);
    Deadline deadline(side.io, conn, kHandshakeLimit);
    const char* stage = "tcp connect";
    try {
        auto& socket = conn->stream.next_layer();
        socket.open(tcp::v4());
        // The port is then picked at connect() from the whole 4-tuple, not at bind(): many
        // sessions share one source address.
        const int one = 1;
        setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        socket.bind(tcp::endpoint(source, 0));
        co_await socket.async_connect(target, use_awaitable);
        socket.set_option(tcp::no_delay(true));
        if (x224) {
            stage = "x224";
            static const rdp::Bytes request = connection_request();
            co_await asio::async_write(socket, asio::buffer(request), use_awaitable);
            check_confirm(co_await read_tpkt(socket, "client x224"));
        }

        stage = "tls";
        co_await conn->stream.async_handshake(asio::ssl::stream_base::client, use_awaitable);
        side.tally.note_negotiated(false, version_of(conn->stream), cipher_of(conn->stream));

        stage = "mcs";
        static const rdp::Bytes initial = connect_initial(rdp::protocol::ssl);
        co_await asio::async_write(conn->stream, asio::buffer(initial), use_awaitable);
        const auto net = check_response(co_await read_tpkt(conn->stream, "client mcs"));
        if (join) {
            stage = "channel join";
            co_await join_channels(side.tally, conn->stream, net);
            conn->rdpdr_channel = net.channel_ids.front();  // CS_NET: rdpdr, cliprdr
        }
    } catch (const std::exception& e) {
        conn->close();
        throw std::runtime_error(std::string("client ") + stage + ": " + e.what());
    }
    side.tally.client_established.fetch_add(1, std::memory_order_relaxed);
    co_return conn;
}

awaitable<void> client_life(ClientSide& side, std::shared_ptr<Conn> conn, ClientProfile profile) {
    auto& tally = side.tally;
    if (profile.mode == ClientMode::relay)
        asio::co_spawn(side.io, send_input(tally, conn, profile.input_events, profile.rdpdr_data),
                       asio::detached);

    const std::size_t size = profile.mode == ClientMode::hold ? kIdleReadBuffer : kBusyReadBuffer;
    std::unique_ptr<uint8_t[]> buffer(new uint8_t[size]);
    PduSplitter splitter;
    error_code ec;
    std::string broken;
    for (;;) {
        const std::size_t n = co_await conn->stream.async_read_some(
            asio::buffer(buffer.get(), size), asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        const auto received = int64_t(now_ns());
        tally.bytes_down.fetch_add(n, std::memory_order_relaxed);
        uint64_t pdus = 0;
        const bool keep = profile.mode == ClientMode::probe && tally.recording;
        broken = splitter.feed({buffer.get(), n}, [&](rdp::ByteView head, std::size_t) {
            ++pdus;
            if (!keep) return;
            if (auto probe = read_probe(head))
                side.latencies.push_back(received - int64_t(probe->send_ns));
        });
        tally.pdus_down.fetch_add(pdus, std::memory_order_relaxed);
        if (!broken.empty()) break;
    }
    if (!tally.stopping) {
        tally.fail(broken.empty() ? "client session ended early: " + ec.message()
                                  : "client received a non-RDP stream: " + broken);
    }
    conn->close();
}

}  // namespace rdpbridge::bench::peers
