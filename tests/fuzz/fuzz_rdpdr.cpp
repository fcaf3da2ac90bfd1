// fuzz-requires: rdpdr.cpp channel_filter.cpp channel_policy.cpp virtual_channel.cpp
// The device redirection channel: rdpdr::decode/encode_device_list_announce and _remove, and
// the channel policy's device rules (ChannelFilter::client_data on the rdpdr channel), which
// reassemble the client's Device List Announce and send it on without the denied devices.
//
// Input: u8 mode (bits 0-2: device rules, see policy(); bit 3: raw, see below; bit 4: the
// chunks made here are flagged compressed; bit 5: and SHOW_PROTOCOL), u32 seed (chunk sizes
// and which devices a subset keeps), then pieces, each a u16 length and that many bytes. Each
// piece is given to the decoders as an rdpdr message. Then the pieces go to a ChannelFilter
// set up as the bridge does it (CS_NET rdpdr, rdpsnd, cliprdr; the host's ids 1004 and up), as
// client data on the rdpdr channel: raw, each piece is one chunk's Send Data user data as is;
// otherwise each piece is a message, cut here into chunks of the seed's sizes.
// Oracles:
//  - a Device List Announce that decodes re-encodes byte for byte; its devices are consecutive
//    and cover the message after the count; any subset of them re-encodes into an announce
//    that decodes to exactly that subset; a Device List Remove re-encodes into the bytes it
//    was read from;
//  - the filter fails only on user data too short for a channel PDU header, and what it sends
//    in place of a chunk is one whole message in chunks;
//  - the host (tests/fuzz/channel_model.hpp: reassembling as FreeRDP's server does) never
//    receives a Device List Announce with a denied device type, nor a message whose header or
//    device list the policy could not read (compressed);
//  - messages cut here: the host receives, message for message, the client's messages with
//    the denied devices left out of each announce (and their ids out of later removes); an
//    announce or remove that does not decode, and compressed messages, are withheld.
#include <algorithm>
#include <set>

#include "rdp/channel_filter.hpp"
#include "rdp/gcc_network.hpp"
#include "rdp/rdpdr.hpp"
#include "rdp/virtual_channel.hpp"
#include "tests/fuzz/channel_model.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::expect_device_passes;
using rdpbridge::fuzz::hex_prefix;

namespace {

constexpr uint16_t kRdpdrId = 1004;

ChannelPolicy policy(uint8_t mode) {
    using namespace rdpdr::device;
    ChannelPolicy p;
    switch (mode & 7) {
        case 0:
            p.deny_devices = {drive};
            break;
        case 1:
            p.allow_devices = std::vector<uint32_t>{printer};
            break;
        case 2:
            p.allow_devices.emplace();
            break;
        case 3:
            p.deny_devices = {drive, smartcard, serial, parallel};
            break;
        case 4:
            p.allow_devices = std::vector<uint32_t>{drive, printer};
            p.deny_devices = {drive};
            break;
        case 5:
            p.deny_devices = {0, 0xFFFFFFFF, drive};
            break;
        case 6:  // no device rules: the filter leaves rdpdr alone
            p.deny = {"cliprdr"};
            break;
        default:
            p.deny = {"CLIPRDR"};
            p.deny_devices = {drive};
            break;
    }
    return p;
}

bool same_devices(const std::vector<rdpdr::Device>& a, const std::vector<rdpdr::Device>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.type == y.type && x.id == y.id && x.dos_name == y.dos_name &&
               std::equal(x.announce.begin(), x.announce.end(), y.announce.begin(),
                          y.announce.end());
    });
}

void check_codecs(ByteView message, uint32_t subset_mask) {
    auto devices = rdpdr::decode_device_list_announce(message);
    if (devices) {
        FUZZ_CHECK(rdpdr::core_packet(message) == rdpdr::kDeviceListAnnounce,
                   "decoded an announce that core_packet does not call one");
        FUZZ_CHECK(load_u32le(message.data() + 4) == devices->size(), "device count");
        const uint8_t* at = message.data() + 8;
        for (const auto& d : *devices) {
            FUZZ_CHECK(d.announce.data() == at && d.announce.size() >= 20,
                       "devices are not consecutive");
            at += d.announce.size();
            FUZZ_CHECK(d.type == load_u32le(d.announce.data()) &&
                           d.id == load_u32le(d.announce.data() + 4) &&
                           d.announce.size() == 20 + load_u32le(d.announce.data() + 16),
                       "a device's fields are not its announce's");
            FUZZ_CHECK(d.dos_name.size() <= 8 && d.dos_name.find('\0') == std::string::npos,
                       "DOS name " + d.dos_name);
        }
        FUZZ_CHECK(at == message.data() + message.size(), "devices do not cover the message");
        const Bytes encoded = rdpdr::encode_device_list_announce(*devices);
        FUZZ_CHECK(
            std::equal(encoded.begin(), encoded.end(), message.begin(), message.end()),
            "encode(decode(x)) != x: in " + hex_prefix(message) + " out " + hex_prefix(encoded));
        std::vector<rdpdr::Device> subset;
        for (std::size_t i = 0; i < devices->size(); ++i)
            if (subset_mask >> (i % 32) & 1) subset.push_back((*devices)[i]);
        const Bytes fewer = rdpdr::encode_device_list_announce(subset);
        auto again = rdpdr::decode_device_list_announce(fewer);
        FUZZ_CHECK(again.ok(), "a subset's announce does not decode: " +
                                   (again ? std::string() : again.error().message()));
        FUZZ_CHECK(same_devices(subset, *again), "a subset's announce decodes to other devices");
    }
    auto ids = rdpdr::decode_device_list_remove(message);
    if (ids) {
        FUZZ_CHECK(rdpdr::core_packet(message) == rdpdr::kDeviceListRemove,
                   "decoded a remove that core_packet does not call one");
        const Bytes encoded = rdpdr::encode_device_list_remove(*ids);
        FUZZ_CHECK(encoded.size() <= message.size() &&
                       std::equal(encoded.begin(), encoded.end(), message.begin()),
                   "encode(decode(x)) is not what was read of x");
        auto again = rdpdr::decode_device_list_remove(encoded);
        FUZZ_CHECK(again.ok() && *again == *ids, "decode(encode(ids)) != ids");
    }
}

// The message the host should receive for one the client sent whole (nullopt: withheld), as
// channel_filter.hpp describes the device rules. `refused` collects the denied devices' ids.
std::optional<Bytes> expected_message(const ChannelPolicy& p, ByteView message, bool compressed,
                                      std::set<uint32_t>& refused, uint32_t& refused_count) {
    const Bytes as_is(message.begin(), message.end());
    if (!p.filters_devices()) return as_is;
    if (compressed) return std::nullopt;
    const uint16_t packet = rdpdr::core_packet(message);
    if (packet == rdpdr::kDeviceListAnnounce) {
        auto devices = rdpdr::decode_device_list_announce(message);
        if (!devices) return std::nullopt;
        std::vector<rdpdr::Device> kept;
        for (const auto& d : *devices) {
            if (expect_device_passes(p, d.type)) {
                kept.push_back(d);
            } else {
                refused.insert(d.id);
                ++refused_count;
            }
        }
        return kept.size() == devices->size() ? as_is : rdpdr::encode_device_list_announce(kept);
    }
    if (packet == rdpdr::kDeviceListRemove) {
        auto ids = rdpdr::decode_device_list_remove(message);
        if (!ids) return std::nullopt;
        std::vector<uint32_t> kept;
        for (uint32_t id : *ids)
            if (!refused.contains(id)) kept.push_back(id);
        if (kept.empty()) return std::nullopt;
        return kept.size() == ids->size() ? as_is : rdpdr::encode_device_list_remove(kept);
    }
    return as_is;
}

// `message` as a client sends it: chunks of the chunker's sizes.
std::vector<Bytes> cut(ByteView message, uint32_t extra_flags, rdpbridge::fuzz::Chunker& chunker) {
    std::vector<Bytes> chunks;
    std::size_t offset = 0;
    do {
        const std::size_t n = chunker.next(message.size() - offset);
        uint32_t flags = extra_flags;
        if (offset == 0) flags |= vc::flag::first;
        if (offset + n == message.size()) flags |= vc::flag::last;
        Bytes user_data;
        Writer w(user_data);
        w.u32le(uint32_t(message.size()));
        w.u32le(flags);
        w.bytes(message.subspan(offset, n));
        chunks.push_back(std::move(user_data));
        offset += n;
    } while (offset < message.size());
    return chunks;
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_rdpdr) {
    rdpbridge::fuzz::Input in(input);
    const uint8_t mode = in.u8();
    const uint32_t seed = in.u32();
    std::vector<ByteView> pieces;
    while (in.remaining() > 0) pieces.push_back(in.take(in.u16()));

    rdpbridge::fuzz::Chunker chunker(seed);
    for (const auto& piece : pieces) check_codecs(piece, chunker.next_random());

    // The filter, as the bridge sets it up in the connect exchange.
    const ChannelPolicy p = policy(mode);
    ChannelFilter filter(p);
    Facts facts;
    std::vector<gcc::ChannelDef> defs(3);
    const char* names[] = {"rdpdr", "rdpsnd", "cliprdr"};
    for (std::size_t i = 0; i < defs.size(); ++i)
        std::copy(names[i], names[i] + std::char_traits<char>::length(names[i]),
                  defs[i].name.begin());
    gcc::DataBlock cs_net = gcc::encode_client_network(defs);
    FUZZ_CHECK(filter.client_network(cs_net, facts).ok(), "client_network");
    gcc::ServerNetwork host_net{1003, {}};
    for (std::size_t i = 0; i < defs.size(); ++i)
        if (rdpbridge::fuzz::expect_channel_passes(p, defs[i].text()))
            host_net.channel_ids.push_back(uint16_t(kRdpdrId + host_net.channel_ids.size()));
    gcc::DataBlock sc_net = gcc::encode_server_network(host_net);
    FUZZ_CHECK(filter.server_network(sc_net).ok(), "server_network");

    const bool raw = mode & 0x08;
    const bool compressed = !raw && (mode & 0x10);
    const uint32_t extra_flags =
        (compressed ? vc::flag::compressed : 0) | (mode & 0x20 ? vc::flag::show_protocol : 0);
    rdpbridge::fuzz::HostChannel host;
    std::vector<Bytes> expected;
    std::set<uint32_t> refused;
    uint32_t refused_count = 0;
    for (const auto& piece : pieces) {
        const std::vector<Bytes> chunks =
            raw ? std::vector<Bytes>{Bytes(piece.begin(), piece.end())}
                : cut(piece, extra_flags, chunker);
        if (!raw) {
            if (auto m = expected_message(p, piece, compressed, refused, refused_count))
                expected.push_back(std::move(*m));
        }
        for (const auto& user_data : chunks) {
            std::vector<Bytes> out;
            auto verdict = filter.client_data(kRdpdrId, user_data, out, facts);
            if (!verdict) {
                FUZZ_CHECK(user_data.size() < vc::kHeaderSize,
                           "client_data failed: " + verdict.error().message());
                return;  // the bridge ends the session
            }
            if (*verdict == ChannelFilter::Verdict::pass) {  // `out` unread, as by the bridge
                host.add(user_data);
                continue;
            }
            vc::Reassembler whole(ChannelFilter::kMaxInspected);
            for (std::size_t i = 0; i < out.size(); ++i) {
                auto c = vc::decode_chunk(out[i]);
                FUZZ_CHECK(c.ok(), "the filter sent a chunk without a header");
                auto done = whole.add(*c);
                FUZZ_CHECK(done.ok() && done->has_value() == (i + 1 == out.size()),
                           "what the filter sent for a chunk is not one whole message");
                host.add(out[i]);
            }
        }
    }
    for (const auto& m : host.messages()) {
        const std::string why = rdpbridge::fuzz::device_violation(p, m);
        FUZZ_CHECK(why.empty(), why + ": " + hex_prefix(m.data));
    }
    if (raw) return;
    const auto& got = host.messages();
    FUZZ_CHECK(got.size() == expected.size(), "the host received " + std::to_string(got.size()) +
                                                  " messages, expected " +
                                                  std::to_string(expected.size()));
    for (std::size_t i = 0; i < got.size(); ++i)
        FUZZ_CHECK(got[i].data == expected[i], "message " + std::to_string(i) + " is " +
                                                   hex_prefix(got[i].data) + ", expected " +
                                                   hex_prefix(expected[i]));
    if (p.filters_devices())
        FUZZ_CHECK(filter.devices_refused() == refused_count,
                   "devices_refused() is " + std::to_string(filter.devices_refused()) +
                       ", expected " + std::to_string(refused_count));
}
