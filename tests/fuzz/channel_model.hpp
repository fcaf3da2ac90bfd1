// The channel policy as the harnesses expect it, written here apart from rdp/, and what a host
// makes of the static-channel chunks it receives: the oracles of fuzz_channel_network,
// fuzz_rdpdr and fuzz_bridge_channels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rdp/bytes.hpp"
#include "rdp/channel_policy.hpp"
#include "rdp/rdpdr.hpp"
#include "rdp/virtual_channel.hpp"

namespace rdpbridge::fuzz {

inline bool iequal_ascii(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [&](char x, char y) { return lower(x) == lower(y); });
}

// channel_policy.hpp's contract: with `allow` present only the channels it names pass; `deny`
// names never pass; names compare case-insensitively. The same for device types.
inline bool expect_channel_passes(const rdp::ChannelPolicy& p, std::string_view name) {
    auto listed = [&](const std::vector<std::string>& names) {
        return std::any_of(names.begin(), names.end(),
                           [&](const std::string& n) { return iequal_ascii(n, name); });
    };
    return (!p.allow || listed(*p.allow)) && !listed(p.deny);
}

inline bool expect_device_passes(const rdp::ChannelPolicy& p, uint32_t type) {
    auto listed = [&](const std::vector<uint32_t>& types) {
        return std::find(types.begin(), types.end(), type) != types.end();
    };
    return (!p.allow_devices || listed(*p.allow_devices)) && !listed(p.deny_devices);
}

// A Device List Announce of one device per type (ids 1, 2, ...; DOS name "DEVn"; 5 data bytes).
inline rdp::Bytes announce_of(const std::vector<uint32_t>& types) {
    rdp::Bytes out;
    rdp::Writer w(out);
    w.u16le(rdp::rdpdr::kComponentCore);
    w.u16le(rdp::rdpdr::kDeviceListAnnounce);
    w.u32le(uint32_t(types.size()));
    for (std::size_t i = 0; i < types.size(); ++i) {
        w.u32le(types[i]);
        w.u32le(uint32_t(i + 1));
        const uint8_t name[8] = {'D', 'E', 'V', uint8_t('0' + i % 10), 0, 0, 0, 0};
        w.bytes(name);
        w.u32le(5);
        const uint8_t data[5] = {'d', 'a', 't', 'a', 0};
        w.bytes(data);
    }
    return out;
}

// The device types of a Device List Announce as a lenient host reads them: it trusts the count
// and each DeviceDataLength as far as the bytes go, and ignores what follows the last device.
inline std::vector<uint32_t> announced_types(rdp::ByteView message) {
    std::vector<uint32_t> types;
    if (rdp::rdpdr::core_packet(message) != rdp::rdpdr::kDeviceListAnnounce) return types;
    rdp::Reader r(message.subspan(rdp::rdpdr::kHeaderSize));
    auto count = r.u32le("count");
    for (uint32_t i = 0; count && i < *count; ++i) {
        auto type = r.u32le("type");
        if (!type) break;
        types.push_back(*type);
        if (!r.skip(4 + 8, "id, name")) break;
        auto length = r.u32le("length");
        if (!length || !r.skip(std::min<std::size_t>(*length, r.remaining()), "data")) break;
    }
    return types;
}

// One static channel at the host, reassembled as FreeRDP's server does (WTSProcessChannelData):
// a FIRST chunk starts the message afresh, every chunk's data is appended, a LAST chunk hands
// the message over whatever its declared length, and a chunk without FIRST after a LAST starts
// the next message. (A strict host drops more; what a lenient one accepts is what a policy
// must have read.)
class HostChannel {
  public:
    struct Message {
        rdp::Bytes data;
        bool compressed = false;       // some chunk is: the host reads other bytes than these
        std::size_t plain_prefix = 0;  // bytes before the first compressed chunk
    };

    void add(rdp::ByteView user_data) {
        auto chunk = rdp::vc::decode_chunk(user_data);
        if (!chunk) return;  // under 8 bytes: no channel PDU at all
        const bool compressed = chunk->flags & rdp::vc::flag::compressed;
        if ((chunk->flags & rdp::vc::flag::first) || !open_) {
            current_ = Message{};
            open_ = true;
        }
        if (compressed && !current_.compressed) {
            current_.compressed = true;
            current_.plain_prefix = current_.data.size();
        }
        current_.data.insert(current_.data.end(), chunk->data.begin(), chunk->data.end());
        if (chunk->flags & rdp::vc::flag::last) {
            messages_.push_back(std::move(current_));
            current_ = {};
            open_ = false;
        }
    }

    const std::vector<Message>& messages() const { return messages_; }

  private:
    bool open_ = false;
    Message current_;
    std::vector<Message> messages_;
};

// Why a message that reached the host breaks the device rules of `policy`, or "".
inline std::string device_violation(const rdp::ChannelPolicy& policy,
                                    const HostChannel::Message& m) {
    if (!policy.filters_devices()) return "";
    // Compressed bytes are read by the host only: a message whose header is among them, or a
    // device list with any, hides its devices from the policy.
    if (m.compressed && m.plain_prefix < rdp::rdpdr::kHeaderSize)
        return "a message whose header is compressed reached the host";
    if (m.compressed && rdp::rdpdr::core_packet(m.data) == rdp::rdpdr::kDeviceListAnnounce)
        return "a Device List Announce with compressed chunks reached the host";
    for (uint32_t type : announced_types(m.data))
        if (!expect_device_passes(policy, type))
            return "a Device List Announce with a denied device (type " + rdp::hex32(type) +
                   ") reached the host";
    return "";
}

}  // namespace rdpbridge::fuzz
