#include "proxy/probe/findings.hpp"

namespace rdpbridge::probe {

int exit_code(const Findings& f) {
    switch (f.reach) {
        case Reach::rdp:
            return kExitRdpHost;
        case Reach::unreachable:
            return kExitUnreachable;
        case Reach::not_rdp:
            return kExitNotRdp;
    }
    return kExitNotRdp;
}

rdp::HostIdentity host_identity(const Findings& f) {
    rdp::HostIdentity id;
    if (f.reach != Reach::rdp) return id;
    for (const auto& l : f.layers) {
        // A pre-RDP-5.2 host speaks only Standard RDP Security, as the gateway concludes too.
        rdp::SecurityLayers shown;
        if (l.answer == LayerAnswer::selected)
            shown = rdp::layers_of(l.selected);
        else if (l.answer == LayerAnswer::no_negotiation)
            shown = rdp::layers_of(rdp::protocol::rdp);
        id.layers.tls = id.layers.tls || shown.tls;
        id.layers.nla = id.layers.nla || shown.nla;
        id.layers.rdp = id.layers.rdp || shown.rdp;
    }
    if (f.tls && f.tls->certificate) {
        id.tls_cert_sha256 = f.tls->certificate->sha256;
        id.tls_spki_sha256 = f.tls->certificate->spki_sha256;
    }
    if (f.rdp_security && f.rdp_security->certificate)
        id.rdp_key_sha256 = f.rdp_security->certificate->key_sha256;
    return id;
}

std::string_view to_string(LayerAnswer a) {
    switch (a) {
        case LayerAnswer::selected:
            return "selected";
        case LayerAnswer::failure:
            return "failure";
        case LayerAnswer::no_negotiation:
            return "no_negotiation";
        case LayerAnswer::other_pdu:
            return "other_pdu";
        case LayerAnswer::no_answer:
            return "no_answer";
        case LayerAnswer::closed:
            return "closed";
    }
    return "closed";
}

std::string_view to_string(MethodOutcome o) {
    switch (o) {
        case MethodOutcome::accepted:
            return "accepted";
        case MethodOutcome::overridden:
            return "overridden";
        case MethodOutcome::refused:
            return "refused";
        case MethodOutcome::error:
            return "error";
    }
    return "error";
}

std::string_view to_string(CipherOrder o) {
    switch (o) {
        case CipherOrder::unknown:
            return "unknown";
        case CipherOrder::server:
            return "server";
        case CipherOrder::client:
            return "client";
    }
    return "unknown";
}

std::string_view to_string(Reach r) {
    switch (r) {
        case Reach::rdp:
            return "rdp";
        case Reach::unreachable:
            return "unreachable";
        case Reach::not_rdp:
            return "not_rdp";
    }
    return "not_rdp";
}

}  // namespace rdpbridge::probe
