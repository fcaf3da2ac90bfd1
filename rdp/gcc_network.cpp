#include "rdp/gcc_network.hpp"

#include <algorithm>

namespace rdpbridge::rdp::gcc {

namespace {
constexpr std::size_t kChannelDefSize = 12;
// RDP allows at most 31 static channels; a larger count is corrupt, not ambitious.
constexpr uint32_t kMaxChannels = 31;
}  // namespace

std::string ChannelDef::text() const {
    const auto* p = reinterpret_cast<const char*>(name.data());
    return {p, std::find(p, p + name.size(), '\0')};
}

Result<std::vector<ChannelDef>> decode_client_network(const DataBlock& cs_net) {
    Reader r(cs_net.body);
    auto count = r.u32le("gcc.cs_net.channel_count");
    if (!count) return count.error();
    if (*count > kMaxChannels)
        return Error{"gcc.cs_net.channel_count",
                     std::to_string(*count) + " channels; RDP allows at most 31"};
    if (*count > r.remaining() / kChannelDefSize)
        return Error{"gcc.cs_net.channel_count",
                     std::to_string(*count) + " channels do not fit in the block"};
    std::vector<ChannelDef> channels(*count);
    for (auto& c : channels) {
        auto name = r.bytes(c.name.size(), "gcc.cs_net.channel_def.name");
        if (!name) return name.error();
        std::copy(name->begin(), name->end(), c.name.begin());
        auto options = r.u32le("gcc.cs_net.channel_def.options");
        if (!options) return options.error();
        c.options = *options;
    }
    return channels;
}

Result<std::vector<std::string>> channel_names(const DataBlock& cs_net) {
    auto channels = decode_client_network(cs_net);
    if (!channels) return channels.error();
    std::vector<std::string> names;
    for (const auto& c : *channels) names.push_back(c.text());
    return names;
}

DataBlock encode_client_network(const std::vector<ChannelDef>& channels) {
    DataBlock block{block::cs_net, {}};
    Writer w(block.body);
    w.u32le(uint32_t(channels.size()));
    for (const auto& c : channels) {
        w.bytes(c.name);
        w.u32le(c.options);
    }
    return block;
}

Result<ServerNetwork> decode_server_network(const DataBlock& sc_net) {
    Reader r(sc_net.body);
    ServerNetwork net;
    auto io = r.u16le("gcc.sc_net.mcs_channel_id");
    if (!io) return io.error();
    net.io_channel = *io;
    auto count = r.u16le("gcc.sc_net.channel_count");
    if (!count) return count.error();
    if (*count > kMaxChannels)
        return Error{"gcc.sc_net.channel_count",
                     std::to_string(*count) + " channels; RDP allows at most 31"};
    for (uint16_t i = 0; i < *count; ++i) {
        auto id = r.u16le("gcc.sc_net.channel_id_array");
        if (!id) return id.error();
        net.channel_ids.push_back(*id);
    }
    // Padding (two bytes when the count is odd) is optional in practice; anything beyond it
    // is not an SC_NET.
    if (r.remaining() > 2)
        return Error{"gcc.sc_net", std::to_string(r.remaining()) + " byte(s) after the ids"};
    return net;
}

DataBlock encode_server_network(const ServerNetwork& net) {
    DataBlock block{block::sc_net, {}};
    Writer w(block.body);
    w.u16le(net.io_channel);
    w.u16le(uint16_t(net.channel_ids.size()));
    for (uint16_t id : net.channel_ids) w.u16le(id);
    if (net.channel_ids.size() % 2 == 1) w.u16le(0);
    return block;
}

}  // namespace rdpbridge::rdp::gcc
