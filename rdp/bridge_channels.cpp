// The channel policy in the bridge: the client's joins of removed channels answered by the
// gateway, in order with the host's confirms, and its Send Data PDUs judged by the filter
// (channel_filter.hpp) before they are passed, sealed or dropped.
#include "rdp/bridge.hpp"
#include "rdp/bridge_internal.hpp"
#include "rdp/capabilities.hpp"
#include "rdp/mcs.hpp"
#include "rdp/tpkt.hpp"

namespace rdpbridge::rdp {

using bridge_detail::append;

std::optional<Failure> Bridge::join_request(const Bytes& pdu, Bytes& out) {
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return Failure{Cause::client_mcs_malformed, payload.error().message()};
    auto join = mcs::decode_channel_join_request(*payload);
    if (!join) return Failure{Cause::client_mcs_malformed, join.error().message()};
    if (filter_->removed(join->channel) == nullptr) {
        ++joins_forwarded_;
        append(out, pdu);
        return std::nullopt;
    }
    if (joins_done_) {
        // The host's stream may be passing untouched by now, so a confirm could land inside one
        // of its PDUs; a client that joins this late gets no answer.
        facts_.emplace_back("channel_join_ignored",
                            "a join of a removed channel after the "
                            "connection sequence");
        return std::nullopt;
    }
    Bytes confirm = mcs::encode_channel_join_confirm(*join);
    // A client may ask for several channels before any confirm comes: the gateway's answer
    // waits for the host's answers to the joins that came before it.
    if (host_confirms_ >= joins_forwarded_ && held_confirms_.empty())
        append(replies_, confirm);
    else
        held_confirms_.emplace_back(joins_forwarded_, std::move(confirm));
    return std::nullopt;
}

// A host's Channel Join Confirm has just gone to `out`; the gateway's confirms that waited for
// it follow.
void Bridge::join_confirm(Bytes& out) {
    ++host_confirms_;
    while (!held_confirms_.empty() && held_confirms_.front().first <= host_confirms_) {
        append(out, held_confirms_.front().second);
        held_confirms_.pop_front();
    }
}

std::optional<Failure> Bridge::channel_policy(const mcs::SendData& sd, Bytes& out, bool& handled) {
    std::vector<Bytes> parts;
    auto verdict = filter_->client_data(sd.channel, sd.user_data, parts, facts_);
    if (!verdict) return Failure{Cause::client_mcs_malformed, verdict.error().message()};
    if (*verdict == ChannelFilter::Verdict::pass) return std::nullopt;
    handled = true;
    for (const auto& part : parts) {
        if (standard_security()) {
            if (auto failure = append_sealed(sd, 0, part, out)) return failure;
        } else if (auto s = mcs::append_send_data(sd, part, out); !s) {
            return Failure{Cause::client_mcs_malformed, s.error().message()};
        }
    }
    return std::nullopt;
}

// The host's Demand Active, where device lists are read: a client that compressed its rdpdr
// data would have every message withheld, so the host's offer to accept it compressed is taken
// back. The length does not change.
std::optional<Failure> Bridge::demand_active(Bytes& share_control) {
    if (!filter_ || !filter_->reads_device_lists() || demand_active_seen_ ||
        !caps::is_demand_active(share_control))
        return std::nullopt;
    demand_active_seen_ = true;
    auto cleared = caps::refuse_client_channel_compression(share_control);
    if (!cleared) return Failure{Cause::host_mcs_malformed, cleared.error().message()};
    if (*cleared)
        facts_.emplace_back("rewrote",
                            "Demand Active: VCCAPS_COMPR_CS_8K off, so that the client's rdpdr "
                            "device lists come uncompressed and can be read");
    return std::nullopt;
}

}  // namespace rdpbridge::rdp
