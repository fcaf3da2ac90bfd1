// The pure decisions of the X.224 negotiation on both legs: what the front side selects for
// the client, what the proxy asks the host for, and what the host's answer means. The proxy
// performs the I/O; every "why" lives here, where it can be tested without sockets.
#pragma once

#include <variant>

#include "rdp/diagnosis.hpp"
#include "rdp/host_identity.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::rdp {

// Mirrors config::BackendSecurity; rdp/ depends on nothing of ours.
enum class BackSecurity { automatic, tls, rdp };

struct Refusal {
    Cause cause;
    std::string detail;
    // The RDP_NEG_FAILURE to send the client, when one tells it more than a closed socket.
    std::optional<NegFailureCode> tell_client;
    // In `auto` mode, a host that refused TLS with RDP_NEG_FAILURE has closed this connection;
    // a new one asking for Standard RDP Security will work.
    bool retry_with_standard_security = false;
};

// Mirrors config::NlaMode: whether the front side runs CredSSP (NLA) for clients that ask.
enum class FrontNla { off, offer, require };

// Front leg: TLS towards the client, or CredSSP over TLS (HYBRID_EX, else HYBRID) for a client
// that asks for it when the listener runs NLA.
std::variant<uint32_t, Refusal> select_front_protocol(const ConnectionRequest& client,
                                                      FrontNla nla = FrontNla::off);

// Back leg: our own request, carrying the client's cookie so brokers and logs on the host still
// see the user, and offering only what the backend profile allows: TLS, plus HYBRID when the
// gateway will hold credentials to run CredSSP with (`offer_hybrid`).
ConnectionRequest backend_request(const ConnectionRequest& client, BackSecurity security,
                                  bool offer_hybrid = false);

struct BackendAgreement {
    uint32_t selected_protocol;
    uint8_t flags;  // RDP_NEG_RSP flags, or 0 for a pre-negotiation host
};

// What the gateway knows of the host before it answers: the layers it has shown before (from
// the known-hosts store), and whether a fall-back to Standard RDP Security could be verified.
struct HostHistory {
    SecurityLayers seen;  // empty for a host never contacted, or one not tracked (verify off)
    // The backend verifies by pin or CA and pins no RDP key: a Standard RDP Security answer
    // could not be checked against anything.
    bool rdp_key_unverifiable = false;
};

// Interprets the host's Connection Confirm to `sent`. In `automatic` mode a host that answers a
// TLS offer with Standard RDP Security (selecting PROTOCOL_RDP, or predating negotiation) is
// taken at its word on the same connection — unless `history` says it has shown TLS before (a
// downgrade), or that the RDP key could not be verified. A host that has shown NLA and now
// selects plain TLS although HYBRID was offered is a downgrade too.
std::variant<BackendAgreement, Refusal> interpret_backend_confirm(const ConnectionRequest& sent,
                                                                  const ConnectionConfirm& answer,
                                                                  BackSecurity security,
                                                                  const HostHistory& history = {});

// The confirm the client gets: the front protocol, plus those of the host's capability flags
// that make sense across the bridge.
ConnectionConfirm front_confirm(uint32_t front_selected, const BackendAgreement& back);

}  // namespace rdpbridge::rdp
