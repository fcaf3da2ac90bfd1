// The channel policy, enforced on the client's stream. Denied static channels are taken out of
// the client's CS_NET, so the host never hears of them; the host's SC_NET gets an id of the
// gateway's own for each, so the client's connect sequence stays whole (its Channel Join
// Request for one is answered by the bridge, and what it sends there is dropped and counted).
// With device rules, the rdpdr channel's Device List Announce (and Remove) is reassembled and
// rewritten without the denied devices; every other rdpdr message passes chunk by chunk. A
// second channel called rdpdr is then removed like a denied one.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rdp/channel_policy.hpp"
#include "rdp/fact.hpp"
#include "rdp/gcc_network.hpp"
#include "rdp/virtual_channel.hpp"

namespace rdpbridge::rdp {

class ChannelFilter {
  public:
    // The largest rdpdr message the gateway reassembles to read; a device list is a few KiB.
    static constexpr std::size_t kMaxInspected = 256 * 1024;
    // Ids for removed channels, far above what hosts hand out (1003 and up, user ids too), so
    // none can clash with a channel the host knows.
    static constexpr uint16_t kFirstGatewayChannel = 0xF000;

    explicit ChannelFilter(ChannelPolicy policy) : policy_(std::move(policy)) {}

    // The client's CS_NET, with the denied channels removed; true when it changed. Notes the
    // channels passed and removed (fact "channels").
    Result<bool> client_network(gcc::DataBlock& cs_net, Facts& facts);
    // The host's SC_NET, with the gateway's ids put back where the removed channels were.
    Result<bool> server_network(gcc::DataBlock& sc_net);

    // Whether the client's stream must be read after the connect exchange: some channel was
    // removed, or rdpdr passes and devices are filtered.
    bool reads_client_stream() const { return !removed_.empty() || filters_devices_; }
    bool removed_any() const { return !removed_.empty(); }
    // Whether rdpdr passes and its device lists are read (so they must come uncompressed).
    bool reads_device_lists() const { return filters_devices_; }
    // The name of a channel the gateway kept from the host, for its id.
    const std::string* removed(uint16_t channel) const;

    enum class Verdict { pass, replace };
    // The client's Send Data user data on `channel`: pass (unchanged), or replace it by the user
    // data in `out` (none: the PDU is dropped).
    Result<Verdict> client_data(uint16_t channel, ByteView user_data, std::vector<Bytes>& out,
                                Facts& facts);

    uint64_t pdus_dropped() const { return pdus_dropped_; }
    uint32_t devices_refused() const { return devices_refused_; }

  private:
    enum class Message { none, passing, inspecting, dropping };
    Result<Verdict> rdpdr_data(ByteView user_data, std::vector<Bytes>& out, Facts& facts);
    // Fills `out` with the chunks to send; false when the message is unchanged.
    bool rdpdr_message(ByteView message, uint32_t flags, std::size_t chunk_size,
                       std::vector<Bytes>& out, Facts& facts);
    void refuse_message(std::string why, Facts& facts);

    ChannelPolicy policy_;
    std::vector<gcc::ChannelDef> requested_;                 // the client's CS_NET
    std::vector<bool> passed_;                               // per requested channel
    std::vector<std::pair<uint16_t, std::string>> removed_;  // gateway id, name
    std::set<uint16_t> dropped_noted_;
    std::optional<std::size_t> rdpdr_index_;  // in requested_, when rdpdr passes
    bool filters_devices_ = false;
    std::optional<uint16_t> rdpdr_channel_;  // the host's id for it
    Message message_ = Message::none;
    vc::Reassembler reassembler_{kMaxInspected};
    uint32_t message_flags_ = 0;
    std::set<uint32_t> refused_ids_;
    uint64_t pdus_dropped_ = 0;
    uint32_t devices_refused_ = 0;
};

}  // namespace rdpbridge::rdp
