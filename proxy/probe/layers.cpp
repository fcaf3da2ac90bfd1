#include "proxy/probe/layers.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "proxy/probe/pdus.hpp"
#include "rdp/first_bytes.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::probe {

namespace {

namespace p = rdp::protocol;
constexpr std::size_t kMaxConfirm = 512;  // a Connection Confirm is 19 bytes

constexpr std::array<LayerRequest, 6> kRequests{{
    {"RDP", p::rdp},
    {"SSL", p::ssl},
    {"HYBRID", p::hybrid | p::ssl},
    {"HYBRID_EX", p::hybrid_ex | p::hybrid | p::ssl},
    {"RDSTLS", p::rdstls},
    {"SSL|HYBRID|RDSTLS|HYBRID_EX", p::ssl | p::hybrid | p::rdstls | p::hybrid_ex},
}};

std::string printable_prefix(rdp::ByteView bytes) {
    std::string text;
    for (uint8_t b : bytes) {
        if (b == '\r' || b == '\n') break;
        text.push_back(std::isprint(b) ? char(b) : '.');
        if (text.size() >= 40) break;
    }
    return text;
}

bool contains_ci(rdp::ByteView bytes, std::string_view needle) {
    const auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end(),
                                [](uint8_t b, char n) { return std::tolower(b) == n; });
    return it != bytes.end();
}

bool starts_with(rdp::ByteView bytes, std::string_view prefix) {
    return bytes.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), bytes.begin(),
                      [](char a, uint8_t b) { return uint8_t(a) == b; });
}

LayerResult unanswered(const LayerRequest& request) {
    LayerResult r;
    r.name = request.name;
    r.requested = request.protocols;
    return r;
}

bool is_tls_based(uint32_t selected) {
    return selected == p::ssl || selected == p::hybrid || selected == p::hybrid_ex;
}

}  // namespace

std::span<const LayerRequest> layer_requests() {
    return kRequests;
}

LayerResult interpret_frame(const LayerRequest& request, rdp::ByteView frame) {
    LayerResult r = unanswered(request);
    auto confirm = rdp::decode_connection_confirm(frame);
    if (!confirm) {
        r.answer = LayerAnswer::other_pdu;
        // xrdp answers requests it dislikes with an MCS Disconnect Provider Ultimatum in an
        // X.224 Data TPDU: 02 F0 80 then 21 80.
        auto payload = rdp::unwrap_x224_data(frame);
        const bool dpum = payload && rdp::mcs::is_disconnect_ultimatum(*payload);
        r.detail = dpum ? "answered with an MCS Disconnect Provider Ultimatum instead of a "
                          "Connection Confirm (refused)"
                        : "answered with a PDU that is not a Connection Confirm (" +
                              confirm.error().message() + "): 0x" +
                              rdp::hex(frame.first(std::min<std::size_t>(frame.size(), 16)));
        return r;
    }
    if (auto* rsp = std::get_if<rdp::NegotiationResponse>(&confirm->negotiation)) {
        r.answer = LayerAnswer::selected;
        r.selected = rsp->selected_protocol;
        r.flags = rsp->flags;
    } else if (auto* failure = std::get_if<rdp::NegotiationFailure>(&confirm->negotiation)) {
        r.answer = LayerAnswer::failure;
        r.failure = failure->code;
        r.detail = "RDP_NEG_FAILURE " + rdp::to_string(failure->code);
    } else {
        r.answer = LayerAnswer::no_negotiation;
        r.detail = "answers without negotiation (pre-RDP-5.2 host): Standard RDP Security";
    }
    return r;
}

LayerResult interpret_failure(const LayerRequest& request, const WireFailure& failure) {
    LayerResult r = unanswered(request);
    r.detail = failure.detail;
    switch (failure.cause) {
        case rdp::Cause::host_silent:
        case rdp::Cause::connection_timed_out:
            r.answer = LayerAnswer::no_answer;
            break;
        case rdp::Cause::host_confirm_malformed:
            r.answer = LayerAnswer::other_pdu;
            if (!failure.first_bytes.empty())
                r.detail = "answered with " + describe_foreign_bytes(failure.first_bytes);
            break;
        default:
            r.answer = LayerAnswer::closed;
            break;
    }
    return r;
}

std::string describe_foreign_bytes(rdp::ByteView bytes) {
    if (bytes.empty()) return "nothing";
    // Built by appending: g++ 12 warns (-Wrestrict, a known false positive) on "lit" + string.
    std::string quoted = "\"";
    quoted.append(printable_prefix(bytes)).append("\"");
    if (starts_with(bytes, "HTTP/")) return "an HTTP response " + quoted + ": an HTTP server";
    // An HTTP/0.9-style answer (Python's http.server answers our bytes so) is a bare HTML page.
    if (contains_ci(bytes, "<html") || contains_ci(bytes, "<!doctype html"))
        return "an HTML page " + quoted + ": an HTTP server";
    if (starts_with(bytes, "SSH-")) return quoted + ": an SSH server";
    if (rdp::is_tls_record(bytes))
        return "a TLS record: a TLS service that expects no RDP preamble";
    if (starts_with(bytes, "220") || starts_with(bytes, "+OK") || starts_with(bytes, "* OK"))
        return quoted + ": a mail or FTP server banner";
    const bool text = std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) {
        return std::isprint(b) || b == '\r' || b == '\n' || b == '\t';
    });
    if (text) return "text " + quoted;
    return "bytes 0x" + rdp::hex(bytes.first(std::min<std::size_t>(bytes.size(), 16)));
}

LayerScan scan_layers(const std::string& ip, uint16_t port, Budget& budget) {
    LayerScan scan;
    bool any_rdp_answer = false;
    for (const auto& request : kRequests) {
        auto connection = Connection::open(ip, port, budget);
        if (!connection.ok()) {
            if (scan.results.empty()) {
                scan.reach = Reach::unreachable;
                scan.unreachable =
                    Unreachable{connection.failure().cause, connection.failure().detail};
                return scan;
            }
            scan.results.push_back(interpret_failure(request, connection.failure()));
            continue;
        }
        const auto answer =
            connection.value().exchange(connection_request(request.protocols), kMaxConfirm);
        auto& result =
            scan.results.emplace_back(answer.ok() ? interpret_frame(request, answer.value())
                                                  : interpret_failure(request, answer.failure()));
        const bool first = scan.results.size() == 1;
        if (result.answer == LayerAnswer::other_pdu && !answer.ok() &&
            !answer.failure().first_bytes.empty()) {
            scan.reach = Reach::not_rdp;
            scan.unreachable =
                Unreachable{rdp::Cause::host_confirm_malformed,
                            "answered the X.224 Connection Request with " +
                                describe_foreign_bytes(answer.failure().first_bytes)};
            return scan;
        }
        if (first && result.answer == LayerAnswer::no_answer) {
            scan.reach = Reach::not_rdp;
            scan.unreachable = Unreachable{
                rdp::Cause::host_silent,
                "accepts TCP but sent nothing in answer to the X.224 Connection Request (" +
                    result.detail + "): not an RDP service, or a hung one"};
            return scan;
        }
        if (result.answer != LayerAnswer::no_answer && result.answer != LayerAnswer::closed)
            any_rdp_answer = true;
    }
    if (!any_rdp_answer) {
        scan.reach = Reach::not_rdp;
        scan.unreachable =
            Unreachable{rdp::Cause::host_closed,
                        "accepts TCP but closed every connection without answering an X.224 "
                        "Connection Request (" +
                            scan.results.front().detail + ")"};
    }
    return scan;
}

const LayerResult* find_layer(const std::vector<LayerResult>& layers, uint32_t requested) {
    for (const auto& l : layers)
        if (l.requested == requested) return &l;
    return nullptr;
}

std::optional<uint32_t> tls_request(const std::vector<LayerResult>& layers) {
    for (uint32_t requested : {p::ssl, p::hybrid | p::ssl, p::hybrid_ex | p::hybrid | p::ssl}) {
        const auto* l = find_layer(layers, requested);
        if (l && l->answer == LayerAnswer::selected && is_tls_based(l->selected)) return requested;
    }
    return std::nullopt;
}

bool standard_rdp_offered(const std::vector<LayerResult>& layers) {
    const auto* l = find_layer(layers, p::rdp);
    return l && ((l->answer == LayerAnswer::selected && l->selected == p::rdp) ||
                 l->answer == LayerAnswer::no_negotiation);
}

NlaFindings nla_findings(const std::vector<LayerResult>& layers) {
    NlaFindings n;
    for (const auto& l : layers) {
        if (l.failure == rdp::NegFailureCode::hybrid_required_by_server) n.required = true;
        if (l.answer == LayerAnswer::selected &&
            (l.selected == p::hybrid || l.selected == p::hybrid_ex))
            n.supported = true;
    }
    n.note = n.supported
                 ? "The CredSSP version is not learned: the host states it only in its answer to "
                   "a client's first TSRequest carrying an authentication token, and the probe "
                   "sends none."
                 : "The host never selected HYBRID or HYBRID_EX: it does not offer Network "
                   "Level Authentication (CredSSP).";
    return n;
}

}  // namespace rdpbridge::probe
