// The bridge state machine between the client's and the host's byte streams after the
// security layers are up. It sees plaintext (TLS is terminated by the caller), rewrites what
// must differ between the legs, and then steps aside: once the MCS connect exchange has been
// translated, a TLS-to-TLS bridge passes bytes through untouched.
//
// Like nghttp2's session, it never touches a socket: bytes in, bytes out, plus facts for the
// handshake log.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rdp/diagnosis.hpp"
#include "rdp/framer.hpp"

namespace rdpbridge::rdp {

struct BridgeParams {
    uint32_t client_requested = 0;  // requestedProtocols of the client's RDP_NEG_REQ
    uint32_t front_selected = 0;    // what the gateway selected for the client
    uint32_t back_selected = 0;     // what the host selected for the gateway
    uint32_t back_requested = 0;    // what the gateway asked the host for
    std::size_t max_pdu = 0xFFFF;
};

using Fact = std::pair<std::string, std::string>;

class Bridge {
public:
    explicit Bridge(const BridgeParams& params);

    // Bytes received from the client, in stream order. What the host must receive is appended
    // to `to_host`. A Failure means the session cannot continue.
    std::optional<Failure> from_client(ByteView in, Bytes& to_host);
    // Bytes received from the host; what the client must receive is appended to `to_client`.
    std::optional<Failure> from_host(ByteView in, Bytes& to_client);

    // True once a direction needs no more translation: the caller may relay it directly.
    bool client_transparent() const { return client_done_; }
    bool host_transparent() const { return host_done_; }

    // Facts learned since the last call (channel names, rewrites), for the handshake log.
    std::vector<Fact> take_facts();

private:
    std::optional<Failure> translate_connect_initial(const Bytes& pdu, Bytes& out);
    std::optional<Failure> translate_connect_response(const Bytes& pdu, Bytes& out);

    BridgeParams params_;
    Framer client_framer_;
    Framer host_framer_;
    bool client_done_ = false;
    bool host_done_ = false;
    std::vector<Fact> facts_;
};

}  // namespace rdpbridge::rdp
