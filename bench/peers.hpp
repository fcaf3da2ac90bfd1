// Internals shared by the synthetic client and host (Asio side of fleet.hpp): the counters both
// threads update, the per-side registry of open sockets, one connection, and TPKT reading.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/asio.hpp"
#include "bench/fleet.hpp"
#include "rdp/tpkt.hpp"

namespace rdpbridge::bench::peers {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;

inline uint64_t now_ns() {
    return uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count());
}

// Updated from both sides' threads; read by the scenario thread.
struct SharedTally {
    std::atomic<uint64_t> client_established{0}, host_established{0}, failed{0};
    std::atomic<uint64_t> bytes_down{0}, bytes_up{0}, pdus_down{0}, pdus_up{0};
    std::atomic<uint64_t> host_tls_handshakes{0}, host_resumed{0};
    std::atomic<uint64_t> host_static_channels{0}, host_channel_joins{0}, gateway_channel_joins{0};
    std::atomic<bool> stopping{false};   // close_all in progress: endings are not failures
    std::atomic<bool> recording{false};  // latency probes are kept

    void fail(const std::string& what);
    void note_negotiated(bool host_side, const std::string& version, const std::string& cipher);
    std::vector<std::string> errors() const;
    Negotiated negotiated() const;

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> errors_;
    Negotiated negotiated_;
};

// The sockets one side has open, so that close_all can close them on that side's thread while
// another thread waits for the side to be empty.
class Registry {
  public:
    class Entry {
      public:
        Entry(Registry& r, tcp::socket* s) : registry_(r), id_(r.add(s)) {}
        ~Entry() { registry_.remove(id_); }
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;

      private:
        Registry& registry_;
        uint64_t id_;
    };

    void close_all();  // on the side's thread
    bool wait_empty(std::chrono::seconds limit);
    std::size_t size() const;

  private:
    uint64_t add(tcp::socket* s);
    void remove(uint64_t id);

    mutable std::mutex mutex_;
    std::condition_variable empty_;
    uint64_t next_ = 0;
    std::map<uint64_t, tcp::socket*> sockets_;
};

// One TLS connection, shared by the coroutines reading and writing it.
struct Conn {
    Conn(asio::io_context& io, asio::ssl::context& ctx, Registry& r)
        : stream(io, ctx), entry(r, &stream.next_layer()) {}
    Conn(tcp::socket s, asio::ssl::context& ctx, Registry& r)
        : stream(std::move(s), ctx), entry(r, &stream.next_layer()) {}
    void close() {
        error_code ignored;
        stream.next_layer().close(ignored);
    }
    SslStream stream;
    Registry::Entry entry;
    uint16_t rdpdr_channel = 0;  // client: rdpdr's id in SC_NET, once joined
};

// Closes `conn` unless disarmed first: every handshake gets a deadline, so that a stalled
// gateway fails sessions instead of hanging the bench.
class Deadline {
  public:
    Deadline(asio::io_context& io, const std::shared_ptr<Conn>& conn, std::chrono::seconds limit)
        : timer_(io, limit) {
        timer_.async_wait([weak = std::weak_ptr<Conn>(conn)](const error_code& ec) {
            if (auto c = weak.lock(); c && !ec) c->close();
        });
    }
    ~Deadline() { timer_.cancel(); }

  private:
    asio::steady_timer timer_;
};

inline constexpr std::chrono::seconds kHandshakeLimit{30};
inline constexpr std::size_t kMaxConnectPdu = 0xFFFF;

// Reads exactly one TPKT frame (X.224 or MCS connect PDU).
template <class Stream>
awaitable<rdp::Bytes> read_tpkt(Stream& s, const char* what) {
    rdp::Bytes frame(rdp::kTpktHeaderSize);
    co_await asio::async_read(s, asio::buffer(frame), use_awaitable);
    auto header = rdp::peek_frame(frame);
    if (!header || !*header || (*header)->kind != rdp::FrameKind::tpkt)
        throw std::runtime_error(std::string(what) + ": not a TPKT frame");
    const std::size_t length = (*header)->length;
    frame.resize(length);
    co_await asio::async_read(
        s, asio::buffer(frame.data() + rdp::kTpktHeaderSize, length - rdp::kTpktHeaderSize),
        use_awaitable);
    co_return frame;
}

std::string cipher_of(SslStream& s);
std::string version_of(SslStream& s);

// --- client side (client_peer.cpp) ---

// Member order matters: destroying `io` destroys the coroutines still suspended in it, whose
// connections unregister themselves and release their SSL objects, so the registry and the TLS
// contexts are declared (and so outlive) it.
struct ClientSide {
    ClientSide(SharedTally& t, SslCtx modern_ctx, SslCtx direct_ctx)
        : tally(t), modern(modern_ctx.release()), direct(direct_ctx.release()) {}
    SharedTally& tally;
    Registry registry;
    asio::ssl::context modern;
    asio::ssl::context direct;
    asio::io_context io{1};
    std::vector<int64_t> latencies;  // client thread only
};

// Connect from `source`, X.224 (unless `x224` is false: bare TLS), TLS, MCS connect exchange,
// then with `join` the domain sequence (attach user, a join per channel by SC_NET's ids); throws
// std::exception on any failure.
awaitable<std::shared_ptr<Conn>> client_connect(ClientSide& side, asio::ip::address_v4 source,
                                                tcp::endpoint target, bool direct, bool x224,
                                                bool join);
// The session after its connect exchange, per profile, until it is closed.
awaitable<void> client_life(ClientSide& side, std::shared_ptr<Conn> conn, ClientProfile profile);

// --- host side (host_peer.cpp) ---

struct HostSide {
    HostSide(SharedTally& t, SslCtx ctx)
        : tally(t),
          tls(ctx.release()),
          acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
    SharedTally& tally;
    Registry registry;  // declared before io: see ClientSide
    asio::ssl::context tls;
    asio::io_context io{1};
    tcp::acceptor acceptor;
    HostProfile profile;  // host thread only
};

awaitable<void> host_accept_loop(HostSide& side);

}  // namespace rdpbridge::bench::peers
