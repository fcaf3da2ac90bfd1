// The synthetic peers: many RDP clients and one Windows 7-like host listener, in the bench
// process, each side on its own thread. Scenarios drive them through this Asio-free interface;
// the peers themselves live in client_peer.cpp and host_peer.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/tls_contexts.hpp"

namespace rdpbridge::bench {

// What the host sends after the MCS Connect Response.
struct HostProfile {
    bool send = false;
    std::size_t output_pdu = 16384;  // bytes per fast-path output PDU
    // Zero: back to back (saturating). Otherwise one PDU per interval, each timestamped.
    std::chrono::nanoseconds interval{0};
    // Zero: a Windows 7-like host (TLS). Otherwise an XP / Server 2003-like host selecting
    // Standard RDP Security with this encryption method (128-bit RC4 or FIPS).
    uint32_t rdp_method = 0;
    // False: bare TLS, for a peer proxy that cannot speak X.224 (HAProxy). The TLS handshake
    // starts right after accept, and the Connect Response echoes PROTOCOL_SSL as if the X.224
    // request had offered it. TLS hosts only: Standard RDP Security is chosen in X.224.
    bool x224 = true;
    // The clients are relay clients: they join their channels (Erect Domain, Attach User, a
    // Channel Join each, answered here) and send a Client Info before the host sends anything,
    // as a real host waits for them. A join for a channel this host did not give fails the
    // session (a gateway's own ids for channels it removed must never reach the host).
    bool client_joins = false;
};

// What a client does once its MCS Connect Response has arrived.
enum class ClientMode {
    hold,   // stays connected and silent (idle sessions)
    relay,  // joins its channels (the host must answer: HostProfile::client_joins), sends a
            // Client Info PDU, then input PDUs back to back; counts what arrives
    probe,  // reads output PDUs and records their latency probes
};

struct ClientProfile {
    ClientMode mode = ClientMode::hold;
    std::size_t input_events = 255;  // relay: mouse events per input PDU; 0 sends nothing
    // False: bare TLS (TCP connect, then straight to the TLS handshake and the Connect Initial),
    // for a peer proxy that cannot speak X.224; the host must be told the same.
    bool x224 = true;
    // Relay: each input PDU followed by an rdpdr Device I/O Response (rdpdr_read_response, 1,623
    // bytes) on rdpdr's id from SC_NET, as while the host reads a redirected device.
    bool rdpdr_data = false;
};

struct Tally {
    uint64_t client_established = 0;
    uint64_t host_established = 0;
    uint64_t failed = 0;
    uint64_t bytes_down = 0;  // plaintext received by clients after the connect exchange
    uint64_t bytes_up = 0;    // plaintext received by the host after the connect exchange
    uint64_t pdus_down = 0;
    uint64_t pdus_up = 0;
    uint64_t host_tls_handshakes = 0;  // TLS handshakes the host completed
    uint64_t host_resumed = 0;         // of which resumed an earlier session (SSL_session_reused)
    // Relay clients' channels: those the host was asked for in CS_NET and the joins it answered,
    // and the joins of ids a gateway gave itself (>= 0xF000, for channels it kept from the host).
    uint64_t host_static_channels = 0;
    uint64_t host_channel_joins = 0;
    uint64_t gateway_channel_joins = 0;
};

struct OpenResult {
    std::size_t established = 0;
    std::size_t failed = 0;
    double seconds = 0;
};

struct Negotiated {
    std::string client_version, client_cipher;  // the leg the client saw
    std::string host_version, host_cipher;      // the leg the host saw
};

class Fleet {
  public:
    explicit Fleet(const HostTlsPolicy& host_policy);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    uint16_t host_port() const;
    // Applies to host sessions accepted from now on. Throws std::invalid_argument for a bare-TLS
    // profile with Standard RDP Security.
    void set_host_profile(const HostProfile& profile);

    // Opens `count` sessions to 127.0.0.1:port with at most `concurrency` handshakes in flight
    // and returns once each is established (then lives on per `profile`) or has failed.
    OpenResult open(uint16_t port, std::size_t count, std::size_t concurrency,
                    const ClientProfile& profile, bool direct_to_host = false);
    // Opens sessions and closes each right after its connect exchange, with `concurrency` in
    // flight, until `max_sessions` are done or `duration` has passed. `x224` false: bare TLS.
    OpenResult churn(uint16_t port, std::size_t concurrency, std::size_t max_sessions,
                     std::chrono::duration<double> duration, bool x224 = true);

    Tally tally() const;
    Negotiated negotiated() const;
    // The first few distinct failure messages, for the report.
    std::vector<std::string> errors() const;

    // Latency probes (nanoseconds, receive minus send) are kept only between these two calls.
    void start_recording();
    std::vector<int64_t> stop_recording();

    // Closes every session on both sides and waits until none is left.
    void close_all();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rdpbridge::bench
