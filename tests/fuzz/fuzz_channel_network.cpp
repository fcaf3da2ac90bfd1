// fuzz-requires: gcc_network.cpp channel_filter.cpp channel_policy.cpp
// The network blocks of the connect exchange (gcc::decode/encode_client_network and
// decode/encode_server_network) and the channel policy's rewriting of them
// (ChannelFilter::client_network, server_network): denied channels leave the client's CS_NET,
// and the host's SC_NET gets the gateway's ids back in their places.
//
// Input: u8 mode (bits 0-2: channel rules, see policy(); bit 3: deny drives and smart cards;
// bit 4: allow only printers; bit 5: the host answers with one id too many or, with bit 6, too
// few), u8 choice (which names the rules list), u16 length of the CS_NET body, the CS_NET body,
// then an SC_NET body, taken whole to the SC_NET decoder; the host's answer to the filter is
// made of its I/O channel id and as many of its ids as the host was asked for (the count is
// not read; zeros past the end).
// Oracles:
//  - CS_NET and SC_NET: decode(encode(decode(x))) == decode(x), encoding stable, and byte for
//    byte the input when the input is in the encoder's form;
//  - client_network: succeeds exactly when the block decodes; removes exactly the channels
//    channel_policy.hpp says are denied (its contract, evaluated here) and, with device rules,
//    every channel called rdpdr after the first, keeping the others' definitions byte for byte
//    and in order; leaves an unchanged block untouched;
//  - server_network: refuses an SC_NET with another number of ids than channels passed, and
//    one that gives a passed channel an id the gateway gave a removed one; otherwise the
//    client's SC_NET has one id per channel of the original CS_NET: a removed channel's is
//    kFirstGatewayChannel + its index, a passed channel's is the host's, in order;
//  - afterwards, client data on a removed channel is dropped, on a passed channel passes, and
//    with device rules a Device List Announce on every channel called rdpdr loses the denied
//    devices.
#include <algorithm>
#include <array>

#include "rdp/channel_filter.hpp"
#include "rdp/gcc_network.hpp"
#include "tests/fuzz/channel_model.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::expect_channel_passes;
using rdpbridge::fuzz::hex_prefix;
using rdpbridge::fuzz::iequal_ascii;

namespace {

constexpr uint16_t kGateway = ChannelFilter::kFirstGatewayChannel;

const std::array<std::string, 8> kNames{"rdpdr",   "RDPSND", "cliprdr", "drdynvc",
                                        "MS_T120", "rail",   "",        "Rdpdr"};

bool same_defs(const std::vector<gcc::ChannelDef>& a, const std::vector<gcc::ChannelDef>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.name == y.name && x.options == y.options;
    });
}

std::string describe(const std::vector<gcc::ChannelDef>& defs) {
    std::string s = "[";
    for (const auto& d : defs) {  // appended piece by piece: g++ 12 -O3 warns on a + chain
        s += '\'';
        s += d.text();
        s += "':";
        s += hex32(d.options);
        s += ' ';
    }
    return s + "]";
}

// A name the rules list: from the fixed set, or one of the input's own channels with its case
// flipped (the rules compare case-insensitively).
std::string pick_name(uint8_t choice, const std::vector<gcc::ChannelDef>& defs) {
    if (choice & 0x80 && !defs.empty()) {
        std::string n = defs[(choice & 0x7F) % defs.size()].text();
        for (char& c : n)
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) c = char(c ^ 0x20);
        return n;
    }
    return kNames[choice % kNames.size()];
}

ChannelPolicy policy(uint8_t mode, uint8_t choice, const std::vector<gcc::ChannelDef>& defs) {
    ChannelPolicy p;
    switch (mode & 7) {
        case 0:  // no channel rules
            break;
        case 1:  // deny the names of the choice's bits
            for (std::size_t i = 0; i < kNames.size(); ++i)
                if (choice & (1u << i)) p.deny.push_back(kNames[i]);
            break;
        case 2:  // allow nothing
            p.allow.emplace();
            break;
        case 3:  // allow one
            p.allow = std::vector<std::string>{pick_name(choice, defs)};
            break;
        case 4:  // deny one
            p.deny = {pick_name(choice, defs)};
            break;
        case 5:  // allow some, deny one of them
            p.allow = std::vector<std::string>{pick_name(choice, defs), "rdpdr", "rdpsnd"};
            p.deny = {pick_name(uint8_t(choice >> 1), defs)};
            break;
        case 6:  // allow two of the input's own
            p.allow = std::vector<std::string>{pick_name(choice | 0x80, defs),
                                               pick_name(uint8_t((choice + 1) | 0x80), defs)};
            break;
        default:  // deny every fixed name but one
            for (std::size_t i = 0; i < kNames.size(); ++i)
                if (i != choice % kNames.size()) p.deny.push_back(kNames[i]);
            break;
    }
    if (mode & 0x08) p.deny_devices = {rdpdr::device::drive, rdpdr::device::smartcard};
    if (mode & 0x10) p.allow_devices = std::vector<uint32_t>{rdpdr::device::printer};
    return p;
}

void check_client_network_codec(ByteView body) {
    const gcc::DataBlock block{gcc::block::cs_net, Bytes(body.begin(), body.end())};
    auto defs = gcc::decode_client_network(block);
    if (!defs) return;
    FUZZ_CHECK(defs->size() <= 31, "more than 31 channels decoded");
    for (const auto& d : *defs) {
        const std::string t = d.text();
        FUZZ_CHECK(t.size() <= 8 && t.find('\0') == std::string::npos &&
                       std::equal(t.begin(), t.end(), d.name.begin(),
                                  [](char c, uint8_t b) { return uint8_t(c) == b; }),
                   "ChannelDef::text() is not the name up to its NUL");
    }
    const gcc::DataBlock encoded = gcc::encode_client_network(*defs);
    FUZZ_CHECK(encoded.type == gcc::block::cs_net, "encode_client_network: block type");
    auto again = gcc::decode_client_network(encoded);
    FUZZ_CHECK(again.ok(), "decode(encode(x)) failed: " + again.error().message());
    FUZZ_CHECK(same_defs(*defs, *again),
               "decode(encode(x)) != x: " + describe(*defs) + " vs " + describe(*again));
    FUZZ_CHECK(gcc::encode_client_network(*again).body == encoded.body, "encoding not stable");
    if (body.size() == 4 + 12 * defs->size())
        FUZZ_CHECK(std::equal(body.begin(), body.end(), encoded.body.begin(), encoded.body.end()),
                   "encode(decode(x)) != x byte for byte: in " + hex_prefix(body) + " out " +
                       hex_prefix(encoded.body));
}

void check_server_network_codec(ByteView body) {
    const gcc::DataBlock block{gcc::block::sc_net, Bytes(body.begin(), body.end())};
    auto net = gcc::decode_server_network(block);
    if (!net) return;
    const std::size_t n = net->channel_ids.size();
    FUZZ_CHECK(n <= 31, "more than 31 channel ids decoded");
    FUZZ_CHECK(body.size() >= 4 + 2 * n && body.size() <= 4 + 2 * n + 2,
               "SC_NET of " + std::to_string(body.size()) + " bytes decoded with " +
                   std::to_string(n) + " ids");
    const gcc::DataBlock encoded = gcc::encode_server_network(*net);
    FUZZ_CHECK(encoded.type == gcc::block::sc_net, "encode_server_network: block type");
    auto again = gcc::decode_server_network(encoded);
    FUZZ_CHECK(again.ok(), "decode(encode(x)) failed: " + again.error().message());
    FUZZ_CHECK(again->io_channel == net->io_channel && again->channel_ids == net->channel_ids,
               "decode(encode(x)) != x");
    FUZZ_CHECK(gcc::encode_server_network(*again).body == encoded.body, "encoding not stable");
    // The encoder's form: two zero bytes of padding after an odd number of ids, none otherwise.
    const bool canonical =
        body.size() == 4 + 2 * n + (n % 2) * 2 &&
        std::all_of(body.begin() + long(4 + 2 * n), body.end(), [](uint8_t b) { return b == 0; });
    if (canonical)
        FUZZ_CHECK(std::equal(body.begin(), body.end(), encoded.body.begin(), encoded.body.end()),
                   "encode(decode(x)) != x byte for byte: in " + hex_prefix(body) + " out " +
                       hex_prefix(encoded.body));
}

// After the connect exchange: what the filter does with the client's data on each channel.
void check_channel_data(ChannelFilter& filter, const ChannelPolicy& p,
                        const std::vector<gcc::ChannelDef>& requested,
                        const std::vector<bool>& passes, const std::vector<uint16_t>& ids) {
    Facts facts;
    // Every removed channel: dropped.
    for (std::size_t i = 0; i < requested.size(); ++i) {
        if (passes[i]) continue;
        std::vector<Bytes> out;
        const uint64_t dropped = filter.pdus_dropped();
        auto verdict = filter.client_data(ids[i], Bytes(12, 0x41), out, facts);
        FUZZ_CHECK(verdict.ok() && *verdict == ChannelFilter::Verdict::replace && out.empty() &&
                       filter.pdus_dropped() == dropped + 1,
                   "data on removed channel '" + requested[i].text() + "' was not dropped");
    }
    // With device rules, a whole Device List Announce on every channel called rdpdr.
    const std::vector<uint32_t> types{rdpdr::device::drive, rdpdr::device::printer,
                                      rdpdr::device::smartcard, rdpdr::device::serial};
    const Bytes announce = rdpbridge::fuzz::announce_of(types);
    const Bytes user_data = vc::chunk(announce, 0, announce.size()).front();
    bool any_denied = false;
    for (uint32_t t : types) any_denied |= !rdpbridge::fuzz::expect_device_passes(p, t);
    for (std::size_t i = 0; i < requested.size(); ++i) {
        if (!passes[i]) continue;
        const bool rdpdr = iequal_ascii(requested[i].text(), "rdpdr");
        // A passed channel with the same id as an rdpdr one carries rdpdr data to the host.
        bool shares_rdpdr_id = false;
        for (std::size_t j = 0; j < requested.size(); ++j)
            shares_rdpdr_id |=
                passes[j] && ids[j] == ids[i] && iequal_ascii(requested[j].text(), "rdpdr");
        std::vector<Bytes> out;
        auto verdict = filter.client_data(ids[i], user_data, out, facts);
        FUZZ_CHECK(verdict.ok(), "client_data failed on a whole chunk: " +
                                     (verdict ? std::string() : verdict.error().message()));
        if (!p.filters_devices() || !shares_rdpdr_id) {
            FUZZ_CHECK(*verdict == ChannelFilter::Verdict::pass,
                       "data on passed channel '" + requested[i].text() + "' did not pass");
            continue;
        }
        if (*verdict == ChannelFilter::Verdict::pass) {
            FUZZ_CHECK(!any_denied,
                       "a Device List Announce with denied devices passed on rdpdr "
                       "channel '" +
                           requested[i].text() + "' (id " + std::to_string(ids[i]) + ")" +
                           (rdpdr ? "" : ", which shares an rdpdr channel's id"));
            continue;
        }
        rdpbridge::fuzz::HostChannel host;
        for (const auto& part : out) host.add(part);
        for (const auto& m : host.messages()) {
            const std::string why = rdpbridge::fuzz::device_violation(p, m);
            FUZZ_CHECK(why.empty(), why + " on channel '" + requested[i].text() + "'");
        }
    }
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_channel_network) {
    rdpbridge::fuzz::Input in(input);
    const uint8_t mode = in.u8();
    const uint8_t choice = in.u8();
    const ByteView cs_body = in.take(in.u16());
    const ByteView host_part = in.rest();

    check_client_network_codec(cs_body);
    check_server_network_codec(host_part);

    gcc::DataBlock cs_net{gcc::block::cs_net, Bytes(cs_body.begin(), cs_body.end())};
    auto requested = gcc::decode_client_network(cs_net);
    const ChannelPolicy p =
        policy(mode, choice, requested ? *requested : std::vector<gcc::ChannelDef>{});
    ChannelFilter filter(p);
    Facts facts;
    auto changed = filter.client_network(cs_net, facts);
    FUZZ_CHECK(changed.ok() == requested.ok(), "client_network and decode_client_network disagree");
    if (!changed) return;
    FUZZ_CHECK(facts.size() == 1 && facts[0].first == "channels", "no 'channels' fact");

    std::vector<bool> passes;
    std::vector<gcc::ChannelDef> kept;
    bool rdpdr_kept = false;
    for (const auto& d : *requested) {
        bool pass = expect_channel_passes(p, d.text());
        // With device rules only the first channel called rdpdr passes (channel_filter.hpp).
        if (pass && p.filters_devices() && iequal_ascii(d.text(), "rdpdr")) {
            pass = !rdpdr_kept;
            rdpdr_kept = true;
        }
        passes.push_back(pass);
        if (pass) kept.push_back(d);
    }
    const bool removes = kept.size() != requested->size();
    FUZZ_CHECK(*changed == removes, std::string("client_network says the block ") +
                                        (*changed ? "changed" : "did not change") + " for " +
                                        describe(*requested) + " -> " + describe(kept));
    FUZZ_CHECK(filter.removed_any() == removes, "removed_any");
    if (!removes) {
        FUZZ_CHECK(
            std::equal(cs_body.begin(), cs_body.end(), cs_net.body.begin(), cs_net.body.end()),
            "an unchanged CS_NET was rewritten");
    } else {
        auto host_view = gcc::decode_client_network(cs_net);
        FUZZ_CHECK(host_view.ok(), "the rewritten CS_NET does not decode");
        FUZZ_CHECK(same_defs(*host_view, kept), "the host is asked for " + describe(*host_view) +
                                                    ", expected " + describe(kept));
    }
    bool rdpdr_passes = false;
    for (std::size_t i = 0; i < requested->size(); ++i) {
        const std::string* name = filter.removed(uint16_t(kGateway + i));
        FUZZ_CHECK(
            passes[i] ? name == nullptr : name && *name == (*requested)[i].text(),
            "removed(" + std::to_string(kGateway + i) + ") for channel " + std::to_string(i));
        rdpdr_passes |= passes[i] && iequal_ascii((*requested)[i].text(), "rdpdr");
    }
    FUZZ_CHECK(filter.reads_client_stream() == (removes || (p.filters_devices() && rdpdr_passes)),
               "reads_client_stream");

    // The host's answer: an id per channel it was asked for (or a wrong number of them).
    rdpbridge::fuzz::Input host(host_part);
    gcc::ServerNetwork answer;
    answer.io_channel = host.u16();
    host.u16();  // the count: the one the host must give is checked
    std::size_t count = kept.size();
    if (mode & 0x20) count = (mode & 0x40) ? (count > 0 ? count - 1 : 1) : count + 1;
    for (std::size_t i = 0; i < count; ++i) answer.channel_ids.push_back(host.u16());
    gcc::DataBlock sc_net = gcc::encode_server_network(answer);
    const Bytes sc_before = sc_net.body;
    auto restored = filter.server_network(sc_net);
    if (count != kept.size()) {
        FUZZ_CHECK(!restored.ok(), "an SC_NET with " + std::to_string(count) + " ids for " +
                                       std::to_string(kept.size()) + " channels was accepted");
        return;
    }
    bool collides = false;
    for (uint16_t id : answer.channel_ids)
        for (std::size_t i = 0; i < requested->size(); ++i)
            collides |= !passes[i] && id == kGateway + i;
    FUZZ_CHECK(restored.ok() == !collides,
               collides ? "a host id equal to a gateway id was accepted"
                        : "a valid SC_NET was refused: " + restored.error().message());
    if (!restored) return;
    FUZZ_CHECK(*restored == removes, "server_network's changed flag");
    if (!removes) {
        FUZZ_CHECK(sc_net.body == sc_before, "an unchanged SC_NET was rewritten");
        check_channel_data(filter, p, *requested, passes, answer.channel_ids);
        return;
    }
    auto client_view = gcc::decode_server_network(sc_net);
    FUZZ_CHECK(client_view.ok(), "the client's SC_NET does not decode");
    FUZZ_CHECK(client_view->io_channel == answer.io_channel, "the I/O channel id changed");
    FUZZ_CHECK(client_view->channel_ids.size() == requested->size(),
               "the client's SC_NET has " + std::to_string(client_view->channel_ids.size()) +
                   " ids for " + std::to_string(requested->size()) + " channels");
    std::size_t next = 0;
    for (std::size_t i = 0; i < requested->size(); ++i) {
        const uint16_t id = client_view->channel_ids[i];
        if (passes[i]) {
            FUZZ_CHECK(id == answer.channel_ids[next++],
                       "passed channel " + std::to_string(i) + " did not get the host's id");
        } else {
            FUZZ_CHECK(id >= kGateway && id == kGateway + i,
                       "removed channel " + std::to_string(i) + " got id " + std::to_string(id));
        }
    }
    check_channel_data(filter, p, *requested, passes, client_view->channel_ids);
}
