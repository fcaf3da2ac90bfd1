// The Bridge state machine (rdp::Bridge): both directions fed in random-size chunks,
// interleaved, as the relay does after the security layers are up. Towards a TLS host it
// translates the MCS connect exchange and steps aside; towards a Standard RDP Security host it
// keeps translating every PDU (key exchange, sealing, licensing, fast-path).
//
// Input: BridgeParams from the first bytes (u8 selectors for client_requested, front_selected,
// back_selected and max_pdu, u8 flags: bit 0 lets MS_T120 through, bit 1 sets auto-logon
// credentials, bits 2-3 pick which; u8 allowed_methods, u8 client-random seed), u32
// chunking seed, u16 length of the client stream, the client stream (MCS Connect Initial first,
// then whatever follows), the host stream (the rest).
// Oracles:
//  - a failure carries one of its direction's causes, and a transparent direction never fails
//    and passes every byte through untouched;
//  - towards a TLS host: per direction, the output is the first TPKT PDU (as is, or rewritten)
//    and then every later byte untouched (fast-path PDUs ahead of it are relayed as they are);
//    nothing is emitted before the first PDU is complete; a rewritten PDU decodes, carries the
//    value the bridge is meant to write and otherwise equals the original;
//  - with auto-logon towards a TLS host, the client direction is the connect PDU (as above),
//    then PDU for PDU what the client sent except at most one Client Info, which carries the
//    credentials and otherwise the client's fields, then every later byte untouched; no fact
//    and no failure ever contains the password;
//  - towards a Standard RDP Security host: what the bridge emits while translating is a run of
//    whole PDUs, each of which frames; the rebuilt connect PDU and each Send Data PDU of the
//    leg's direction among them decode.
#include <algorithm>
#include <array>
#include <initializer_list>

#include "rdp/bridge.hpp"
#include "rdp/client_info.hpp"
#include "rdp/mcs.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/security_header.hpp"
#include "rdp/utf16.hpp"
#include "rdp/x224.hpp"
#include "tests/fuzz/gcc_compare.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::describe;
using rdpbridge::fuzz::hex_prefix;

namespace {

constexpr std::array<uint32_t, 8> kProtocols{
    protocol::rdp,
    protocol::ssl,
    protocol::ssl | protocol::hybrid,
    protocol::rdp,
    protocol::ssl | protocol::hybrid | protocol::hybrid_ex,
    protocol::hybrid,
    protocol::rdsaad,
    0xFFFFFFFF,
};

uint32_t pick_protocol(uint8_t selector) {
    return kProtocols[selector % kProtocols.size()];
}

std::size_t pick_max_pdu(uint8_t selector) {
    switch (selector % 4) {
        case 0:
            return 0xFFFF;
        case 1:
            return 0;
        case 2:
            return 8 + selector;
        default:
            return std::size_t(selector) << 4;
    }
}

struct Leg {
    const char* name;
    bool to_host;
    ByteView stream;
    std::size_t fed = 0;
    Bytes out;
    std::optional<Failure> failure;
    std::size_t tpkt_emitted = 0;  // slow-path PDUs seen by check_emitted
};

bool one_of(Cause c, std::initializer_list<Cause> allowed) {
    return std::find(allowed.begin(), allowed.end(), c) != allowed.end();
}

// The first PDU of a stream as the bridge's framer would cut it, or nullopt.
std::optional<ByteView> first_pdu(ByteView stream, std::size_t max_pdu) {
    auto header = peek_frame(stream);
    if (!header || !*header) return std::nullopt;
    const std::size_t length = (*header)->length;
    if (length > max_pdu || length > stream.size()) return std::nullopt;
    return stream.first(length);
}

// What a translating bridge emits is a run of whole PDUs; those it built itself must parse.
void check_emitted(Leg& leg, ByteView emitted) {
    while (!emitted.empty()) {
        auto header = peek_frame(emitted);
        FUZZ_CHECK(header.ok() && header->has_value() && (*header)->length <= emitted.size(),
                   std::string(leg.name) +
                       ": emitted bytes that are not whole PDUs: " + hex_prefix(emitted));
        const ByteView pdu = emitted.first((*header)->length);
        emitted = emitted.subspan(pdu.size());
        if ((*header)->kind != FrameKind::tpkt) continue;
        auto payload = unwrap_x224_data(pdu);
        if (!payload) {  // passed through as the peer sent it
            ++leg.tpkt_emitted;
            continue;
        }
        if (leg.tpkt_emitted++ == 0) {  // the connect PDU, which the bridge always rebuilds
            auto connect = leg.to_host ? mcs::decode_connect_initial(*payload)
                                       : mcs::decode_connect_response(*payload);
            FUZZ_CHECK(connect.ok(), std::string(leg.name) +
                                         ": emitted a connect PDU that does not decode: " +
                                         connect.error().message());
            continue;
        }
        // The bridge opens (and re-seals) only the Send Data PDUs of its leg's direction; any
        // other domain PDU it relays as the peer sent it.
        auto type = mcs::domain_pdu_type(*payload);
        const auto own =
            leg.to_host ? mcs::DomainPdu::send_data_request : mcs::DomainPdu::send_data_indication;
        if (!type || *type != own) continue;
        auto sd = mcs::decode_send_data(*payload);
        FUZZ_CHECK(sd.ok(), std::string(leg.name) +
                                ": emitted a Send Data PDU that does not "
                                "decode: " +
                                sd.error().message() + " (" + std::to_string(pdu.size()) +
                                " bytes)");
    }
}

template <class Decode, class Field>
void check_translated(const Leg& leg, ByteView original, ByteView translated, Decode decode,
                      uint16_t core_type, Field field, uint32_t expected) {
    auto original_payload = unwrap_x224_data(original);
    FUZZ_CHECK(original_payload.ok(),
               std::string(leg.name) + ": passed a PDU that does not unwrap");
    auto before = decode(*original_payload);
    FUZZ_CHECK(before.ok(), std::string(leg.name) + ": passed a PDU that does not decode");
    auto translated_payload = unwrap_x224_data(translated);
    FUZZ_CHECK(translated_payload.ok(),
               std::string(leg.name) + ": output does not unwrap: " + hex_prefix(translated));
    auto after = decode(*translated_payload);
    FUZZ_CHECK(after.ok(),
               std::string(leg.name) + ": output does not decode: " + after.error().message());
    const auto* core = after->conference.find(core_type);
    FUZZ_CHECK(core != nullptr, std::string(leg.name) + ": core block vanished");
    const auto value = field(*core);
    FUZZ_CHECK(!value || *value == expected, std::string(leg.name) + ": core field is " +
                                                 hex32(value.value_or(0)) + ", expected " +
                                                 hex32(expected));
    // Apart from that field, the translation changed nothing.
    auto* before_core = before->conference.find(core_type);
    FUZZ_CHECK(before_core != nullptr, std::string(leg.name) + ": passed a PDU without core block");
    if (value) {
        if (core_type == gcc::block::cs_core)
            gcc::set_server_selected_protocol(*before_core, expected);
        else
            gcc::set_client_requested_protocols(*before_core, expected);
    }
    FUZZ_CHECK(rdpbridge::fuzz::same(*before, *after),
               std::string(leg.name) + ": translation changed more than the core field: " +
                   describe(*before) + " vs " + describe(*after));
}

// Auto-logon credentials, picked by bits 2-3 of the flags byte.
struct AutoLogon {
    const char* domain;
    const char* user;
    const char* password;
};
constexpr std::array<AutoLogon, 4> kAutoLogons{{
    {"", "fuzzuser", "Fuzz-S3cret!"},
    {"CORP", "alice", "Fuzz-S3cret!\xE2\x82\xAC\xF0\x9F\x98\x80"},
    {"", "", ""},
    {"D\xC3\x84", "a-rather-long-user-name-for-a-client-info-packet",
     "Fuzz-S3cret!Fuzz-S3cret!Fuzz-S3cret!Fuzz-S3cret!Fuzz-S3cret!Fuzz-S3cret!"},
}};

Bytes utf16(const char* utf8) {
    return *utf8_to_utf16le(utf8, "fuzz");
}

bool contains(ByteView haystack, ByteView needle) {
    return !needle.empty() && std::search(haystack.begin(), haystack.end(), needle.begin(),
                                          needle.end()) != haystack.end();
}

void check_no_password(const std::string& text, const AutoLogon* logon, const char* what) {
    if (!logon || !*logon->password) return;
    const ByteView bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    FUZZ_CHECK(!contains(bytes, ByteView(reinterpret_cast<const uint8_t*>(logon->password),
                                         std::char_traits<char>::length(logon->password))) &&
                   !contains(bytes, utf16(logon->password)),
               std::string(what) + " contains the password");
}

// `out` is `in` (a Client Info) with the credentials written in and nothing else changed.
void check_injected(ByteView in, ByteView out, const AutoLogon& logon) {
    auto in_sd = mcs::decode_send_data(*unwrap_x224_data(in));
    FUZZ_CHECK(in_sd.ok(), "client: rewrote a PDU that is no Send Data Request");
    auto out_payload = unwrap_x224_data(out);
    FUZZ_CHECK(out_payload.ok(), "client: rewritten Client Info does not unwrap");
    auto out_sd = mcs::decode_send_data(*out_payload);
    FUZZ_CHECK(out_sd.ok(),
               "client: rewritten Client Info does not decode: " + out_sd.error().message());
    FUZZ_CHECK(!in_sd->indication && !out_sd->indication && in_sd->initiator == out_sd->initiator &&
                   in_sd->channel == out_sd->channel &&
                   in_sd->priority_segmentation == out_sd->priority_segmentation,
               "client: rewritten Client Info changed its MCS header");
    const ByteView a = in_sd->user_data, b = out_sd->user_data;
    FUZZ_CHECK(a.size() >= sec::kBasicSize && (a[0] & sec::info_pkt) &&
                   b.size() >= sec::kBasicSize &&
                   std::equal(a.begin(), a.begin() + sec::kBasicSize, b.begin()),
               "client: rewrote a Send Data Request without SEC_INFO_PKT, or its header");
    auto before = client_info::decode(a.subspan(sec::kBasicSize));
    FUZZ_CHECK(before.ok() && before->unicode(), "client: rewrote a Client Info it cannot decode");
    auto after = client_info::decode(b.subspan(sec::kBasicSize));
    FUZZ_CHECK(after.ok(),
               "client: rewritten Client Info does not decode: " + after.error().message());
    auto same = [](ByteView x, ByteView y) {
        return std::equal(x.begin(), x.end(), y.begin(), y.end());
    };
    FUZZ_CHECK(same(after->domain, utf16(logon.domain)) &&
                   same(after->user_name, utf16(logon.user)) &&
                   same(after->password, utf16(logon.password)),
               "client: the Client Info does not carry the credentials");
    FUZZ_CHECK(after->code_page == before->code_page &&
                   after->flags == ((before->flags | client_info::info_autologon) &
                                    ~client_info::info_password_is_sc_pin) &&
                   same(after->alternate_shell, before->alternate_shell) &&
                   same(after->working_dir, before->working_dir) &&
                   same(after->extended, before->extended),
               "client: the rewrite changed more than the credentials and INFO_AUTOLOGON");
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_bridge) {
    rdpbridge::fuzz::Input in(input);
    BridgeParams params;
    params.client_requested = pick_protocol(in.u8());
    params.front_selected = pick_protocol(in.u8());
    params.back_selected = pick_protocol(in.u8());
    params.max_pdu = pick_max_pdu(in.u8());
    const uint8_t flags = in.u8();
    params.refuse_ms_t120 = !(flags & 1);
    params.allowed_methods = in.u8() & 0x1B;  // 40BIT|128BIT|56BIT|FIPS
    const uint8_t random_seed = in.u8();
    for (std::size_t i = 0; i < params.client_random.size(); ++i)
        params.client_random[i] = uint8_t(random_seed * 31 + i * 7 + 1);
    rdpbridge::fuzz::Chunker chunker(in.u32());
    const std::size_t client_length = in.u16();
    Leg client{"client", true, in.take(client_length), 0, {}, std::nullopt, 0};
    Leg host{"host", false, in.rest(), 0, {}, std::nullopt, 0};
    const bool tls_host = params.back_selected != protocol::rdp;
    const AutoLogon* logon = (flags & 2) ? &kAutoLogons[(flags >> 2) & 3] : nullptr;

    Bridge bridge(params);
    if (logon) {
        const Bytes password = utf16(logon->password);
        bridge.set_auto_logon({logon->domain, logon->user, Secret(ByteView(password))});
    }
    while (!client.failure && !host.failure &&
           (client.fed < client.stream.size() || host.fed < host.stream.size())) {
        const bool pick_client = host.fed == host.stream.size() ||
                                 (client.fed < client.stream.size() && (chunker.next_random() & 1));
        Leg& leg = pick_client ? client : host;
        auto transparent = [&] {
            return pick_client ? bridge.client_transparent() : bridge.host_transparent();
        };
        const bool was_transparent = transparent();
        const std::size_t out_before = leg.out.size();
        const std::size_t n = chunker.next(leg.stream.size() - leg.fed);
        const ByteView chunk = leg.stream.subspan(leg.fed, n);
        leg.fed += n;
        leg.failure =
            pick_client ? bridge.from_client(chunk, leg.out) : bridge.from_host(chunk, leg.out);
        if (leg.failure) {
            FUZZ_CHECK(!was_transparent,
                       std::string(leg.name) + ": a transparent direction failed");
            FUZZ_CHECK(pick_client
                           ? one_of(leg.failure->cause,
                                    {Cause::client_mcs_malformed, Cause::client_requested_ms_t120})
                           : one_of(leg.failure->cause, {Cause::host_mcs_malformed,
                                                         Cause::host_selected_unoffered_method,
                                                         Cause::host_mac_mismatch}),
                       std::string(leg.name) +
                           ": failure with an unexpected cause: " + leg.failure->detail);
            FUZZ_CHECK(!leg.failure->detail.empty(), "failure without detail");
            check_no_password(leg.failure->detail, logon, "a failure");
        } else if (was_transparent) {
            FUZZ_CHECK(
                leg.out.size() == out_before + n &&
                    std::equal(chunk.begin(), chunk.end(), leg.out.begin() + long(out_before)),
                std::string(leg.name) + ": a transparent direction changed bytes");
        } else if (!tls_host && !transparent()) {
            check_emitted(leg, ByteView(leg.out).subspan(out_before));
        }
        for (auto& f : bridge.take_facts()) {
            FUZZ_CHECK(!f.first.empty(), "fact without a name");
            check_no_password(f.second, logon, "a fact");
        }
    }
    if (!tls_host) return;

    // Towards a TLS host: one translated PDU per direction, then pass-through.
    struct Expectation {
        Leg& leg;
        bool transparent;
    };
    for (auto [leg, transparent] : {Expectation{client, bridge.client_transparent()},
                                    Expectation{host, bridge.host_transparent()}}) {
        if (leg.failure) continue;
        ByteView fed = leg.stream.first(leg.fed);
        ByteView out = leg.out;
        // Fast-path PDUs ahead of the connect PDU are relayed as they are.
        for (auto pdu = first_pdu(fed, params.max_pdu); pdu && (*pdu)[0] != kTpktVersion;
             pdu = first_pdu(fed, params.max_pdu)) {
            FUZZ_CHECK(
                out.size() >= pdu->size() && std::equal(pdu->begin(), pdu->end(), out.begin()),
                std::string(leg.name) + ": a leading fast-path PDU was not relayed as is");
            fed = fed.subspan(pdu->size());
            out = out.subspan(pdu->size());
        }
        const auto first = first_pdu(fed, params.max_pdu);
        if (logon && &leg == &client) {
            // The connect PDU, then the client's PDUs one for one (one Client Info rewritten),
            // then, once transparent, every byte as it came.
            if (!first) {
                FUZZ_CHECK(out.empty() && !transparent, "client: output without a first PDU");
                continue;
            }
            const auto header = peek_frame(out);
            FUZZ_CHECK(header.ok() && header->has_value() && (*header)->length <= out.size(),
                       "client: output does not start with a whole PDU");
            check_translated(leg, *first, out.first((*header)->length), mcs::decode_connect_initial,
                             gcc::block::cs_core, gcc::server_selected_protocol,
                             params.back_selected);
            fed = fed.subspan(first->size());
            out = out.subspan((*header)->length);
            bool injected = false;
            for (auto in_pdu = first_pdu(fed, params.max_pdu); in_pdu;
                 in_pdu = first_pdu(fed, params.max_pdu)) {
                const auto out_header = peek_frame(out);
                if (!out_header.ok() || !out_header->has_value() ||
                    (*out_header)->length > out.size())
                    break;
                const ByteView out_pdu = out.first((*out_header)->length);
                if (!std::equal(in_pdu->begin(), in_pdu->end(), out_pdu.begin(), out_pdu.end())) {
                    FUZZ_CHECK(!injected, "client: a second PDU was rewritten");
                    check_injected(*in_pdu, out_pdu, *logon);
                    injected = true;
                }
                fed = fed.subspan(in_pdu->size());
                out = out.subspan(out_pdu.size());
            }
            if (transparent) {
                FUZZ_CHECK(std::equal(fed.begin(), fed.end(), out.begin(), out.end()),
                           "client: bytes after the Client Info were not passed through");
            } else {
                FUZZ_CHECK(out.empty() && !first_pdu(fed, params.max_pdu),
                           "client: waiting for the Client Info, yet a PDU was not passed on");
            }
            continue;
        }
        if (!transparent) {
            FUZZ_CHECK(out.empty(),
                       std::string(leg.name) + ": output before the first PDU was complete");
            FUZZ_CHECK(!first, std::string(leg.name) + ": a complete first PDU was not translated");
            continue;
        }
        FUZZ_CHECK(first.has_value(), std::string(leg.name) + ": transparent without a first PDU");
        const auto translated_header = peek_frame(out);
        FUZZ_CHECK(translated_header.ok() && translated_header->has_value() &&
                       (*translated_header)->length <= out.size(),
                   std::string(leg.name) + ": output does not start with a whole PDU");
        const ByteView translated = out.first((*translated_header)->length);
        const ByteView rest_in = fed.subspan(first->size());
        const ByteView rest_out = out.subspan(translated.size());
        FUZZ_CHECK(std::equal(rest_in.begin(), rest_in.end(), rest_out.begin(), rest_out.end()),
                   std::string(leg.name) + ": bytes after the first PDU were not passed through");
        if (&leg == &client) {
            check_translated(leg, *first, translated, mcs::decode_connect_initial,
                             gcc::block::cs_core, gcc::server_selected_protocol,
                             params.back_selected);
        } else {
            check_translated(leg, *first, translated, mcs::decode_connect_response,
                             gcc::block::sc_core, gcc::client_requested_protocols,
                             params.client_requested);
        }
    }
}
