// X.224 Connection Request / Confirm (decode_connection_request, decode_connection_confirm)
// and the negotiation decisions taken on what they decode.
//
// Input: one TPKT frame, given to both decoders, and, as the gateway does when a client's first
// byte is not TPKT's, to classify_first_bytes.
// Oracles (round trip): whatever decodes re-encodes to a frame that decodes to the same
// structure, and re-encoding that is byte-stable; a TLS record header is always named TLS; the
// negotiation functions' outputs encode to frames that decode to themselves.
#include <bit>
#include <variant>

#include "rdp/first_bytes.hpp"
#include "rdp/negotiation.hpp"
#include "rdp/x224.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::hex_prefix;

namespace {

bool same(const ConnectionRequest& a, const ConnectionRequest& b) {
    const bool neg = a.negotiation.has_value() == b.negotiation.has_value() &&
                     (!a.negotiation ||
                      (a.negotiation->flags == b.negotiation->flags &&
                       a.negotiation->requested_protocols == b.negotiation->requested_protocols));
    return a.mstshash == b.mstshash && a.routing_token == b.routing_token && neg &&
           a.correlation_info == b.correlation_info;
}

bool same(const ConnectionConfirm& a, const ConnectionConfirm& b) {
    if (a.negotiation.index() != b.negotiation.index()) return false;
    if (auto* r = std::get_if<NegotiationResponse>(&a.negotiation)) {
        auto& s = std::get<NegotiationResponse>(b.negotiation);
        return r->flags == s.flags && r->selected_protocol == s.selected_protocol;
    }
    if (auto* f = std::get_if<NegotiationFailure>(&a.negotiation))
        return f->code == std::get<NegotiationFailure>(b.negotiation).code;
    return true;
}

template <class T, class Decode>
void round_trip(const T& decoded, Decode decode, const char* what) {
    const Bytes encoded = encode(decoded);
    auto again = decode(ByteView(encoded));
    FUZZ_CHECK(again.ok(), std::string(what) + ": re-encoded frame rejected: " +
                               again.error().message() + " frame " + hex_prefix(encoded));
    FUZZ_CHECK(same(decoded, *again),
               std::string(what) + ": decode(encode(x)) != x, frame " + hex_prefix(encoded));
    FUZZ_CHECK(encode(*again) == encoded, std::string(what) + ": encoding not stable");
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_x224) {
    const Cause sniffed = classify_first_bytes(input);
    if (input.size() >= 2 && input[0] == 0x16 && input[1] == 0x03)
        FUZZ_CHECK(sniffed == Cause::client_spoke_tls, "a TLS record header not named TLS");
    auto request = decode_connection_request(input);
    if (request) {
        round_trip(*request, decode_connection_request, "connection request");
        (void)protocols_to_string(request->negotiation ? request->negotiation->requested_protocols
                                                       : 0);
        // What the gateway does with an accepted request (proxy/session.cpp): select for the
        // front, and only then build the request for the host from it.
        auto selected = select_front_protocol(*request);
        if (std::holds_alternative<uint32_t>(selected)) {
            for (auto security : {BackSecurity::automatic, BackSecurity::tls, BackSecurity::rdp}) {
                const auto ours = backend_request(*request, security);
                round_trip(ours, decode_connection_request, "backend request");
            }
        } else {
            FUZZ_CHECK(std::get<Refusal>(selected).tell_client.has_value(),
                       "a front refusal must tell the client why");
        }
    }

    auto confirm = decode_connection_confirm(input);
    if (confirm) {
        round_trip(*confirm, decode_connection_confirm, "connection confirm");
        if (auto* f = std::get_if<NegotiationFailure>(&confirm->negotiation))
            (void)to_string(f->code);
        for (auto security : {BackSecurity::automatic, BackSecurity::tls, BackSecurity::rdp}) {
            ConnectionRequest client;
            client.negotiation = NegotiationRequest{0, protocol::ssl | protocol::hybrid};
            const ConnectionRequest sent = backend_request(client, security);
            const uint32_t offered = sent.negotiation ? sent.negotiation->requested_protocols : 0;
            auto outcome = interpret_backend_confirm(sent, *confirm, security);
            if (auto* agreement = std::get_if<BackendAgreement>(&outcome)) {
                FUZZ_CHECK((agreement->selected_protocol & ~offered) == 0,
                           "agreed on a protocol that was not offered");
                FUZZ_CHECK(std::popcount(agreement->selected_protocol) <= 1,
                           "agreed on more than one protocol");
                round_trip(front_confirm(protocol::ssl, *agreement), decode_connection_confirm,
                           "front confirm");
            } else {
                const auto& refusal = std::get<Refusal>(outcome);
                FUZZ_CHECK(!refusal.detail.empty(), "refusal without detail");
            }
        }
    }
}
