#include "rdp/channel_filter.hpp"

#include <algorithm>
#include <cctype>

#include "rdp/rdpdr.hpp"

namespace rdpbridge::rdp {

namespace {

// Names and DOS names come from the client: in the log they are one token each, so anything
// that could split or fake a token becomes '?'.
std::string token(std::string_view text) {
    std::string t;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        t += std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == '$' || c == ':' ? c : '?';
    }
    return t.empty() ? "-" : t;
}

std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
    return s;
}

}  // namespace

Result<bool> ChannelFilter::client_network(gcc::DataBlock& cs_net, Facts& facts) {
    auto defs = gcc::decode_client_network(cs_net);
    if (!defs) return defs.error();
    requested_ = std::move(*defs);
    std::vector<gcc::ChannelDef> kept;
    std::vector<std::string> passed_names, removed_names;
    for (std::size_t i = 0; i < requested_.size(); ++i) {
        const std::string name = requested_[i].text();
        const bool rdpdr = same_channel_name(name, "rdpdr");
        // With device rules only the first rdpdr passes: the filter reads one channel's device
        // lists, and a host may give any channel of that name to its device redirection
        // (FreeRDP's server takes the first).
        const bool pass =
            policy_.passes(name) && !(rdpdr && rdpdr_index_ && policy_.filters_devices());
        passed_.push_back(pass);
        if (pass) {
            kept.push_back(requested_[i]);
            passed_names.push_back(token(name));
            if (rdpdr) rdpdr_index_ = i;
        } else {
            removed_.emplace_back(uint16_t(kFirstGatewayChannel + i), name);
            removed_names.push_back(token(name));
        }
    }
    filters_devices_ = policy_.filters_devices() && rdpdr_index_.has_value();
    facts.emplace_back("channels",
                       "passed=" + join(passed_names) + " removed=" + join(removed_names));
    if (removed_.empty()) return false;
    cs_net = gcc::encode_client_network(kept);
    return true;
}

Result<bool> ChannelFilter::server_network(gcc::DataBlock& sc_net) {
    auto net = gcc::decode_server_network(sc_net);
    if (!net) return net.error();
    const auto asked = std::size_t(std::count(passed_.begin(), passed_.end(), true));
    if (net->channel_ids.size() != asked)
        return Error{"gcc.sc_net.channel_count",
                     "the host gave " + std::to_string(net->channel_ids.size()) +
                         " channel ids for the " + std::to_string(asked) + " it was asked for"};
    gcc::ServerNetwork full{net->io_channel, {}};
    std::size_t next = 0;
    for (std::size_t i = 0; i < requested_.size(); ++i) {
        if (!passed_[i]) {
            full.channel_ids.push_back(uint16_t(kFirstGatewayChannel + i));
            continue;
        }
        const uint16_t id = net->channel_ids[next++];
        if (removed(id) != nullptr)
            return Error{"gcc.sc_net.channel_id_array",
                         "the host's channel id " + std::to_string(id) +
                             " is one the gateway gives a removed channel"};
        if (rdpdr_index_ == i) rdpdr_channel_ = id;
        full.channel_ids.push_back(id);
    }
    if (removed_.empty()) return false;
    sc_net = gcc::encode_server_network(full);
    return true;
}

const std::string* ChannelFilter::removed(uint16_t channel) const {
    for (const auto& [id, name] : removed_)
        if (id == channel) return &name;
    return nullptr;
}

Result<ChannelFilter::Verdict> ChannelFilter::client_data(uint16_t channel, ByteView user_data,
                                                          std::vector<Bytes>& out, Facts& facts) {
    if (const std::string* name = removed(channel)) {
        ++pdus_dropped_;
        if (dropped_noted_.insert(channel).second)
            facts.emplace_back("channel_data_dropped", token(*name));
        return Verdict::replace;
    }
    if (filters_devices_ && !rdpdr_channel_) {
        // Before the host's SC_NET, rdpdr's id is unknown, and no client knows any id: one that
        // sends data now guesses them, and a device list could pass unread.
        ++pdus_dropped_;
        return Verdict::replace;
    }
    if (filters_devices_ && rdpdr_channel_ == channel) return rdpdr_data(user_data, out, facts);
    return Verdict::pass;
}

// Only a message that may be a device list is held back and read; the others (file data,
// printer jobs) pass chunk by chunk as they come.
Result<ChannelFilter::Verdict> ChannelFilter::rdpdr_data(ByteView user_data,
                                                         std::vector<Bytes>& out, Facts& facts) {
    auto chunk = vc::decode_chunk(user_data);
    if (!chunk) return chunk.error();
    const bool first = chunk->flags & vc::flag::first;
    const bool last = chunk->flags & vc::flag::last;
    switch (message_) {
        case Message::dropping:
            ++pdus_dropped_;
            if (last) message_ = Message::none;
            return Verdict::replace;
        case Message::passing:
            if (!first) {
                if (last) message_ = Message::none;
                return Verdict::pass;
            }
            // A FIRST chunk starts a new message at the host (FreeRDP's server drops the one
            // in progress): it is judged as one.
            message_ = Message::none;
            [[fallthrough]];
        case Message::none: {
            if (!first) {
                // Not part of a message, yet a host may take it for one (FreeRDP's server starts
                // its next message with whatever chunk follows a LAST): it does not pass unread.
                refuse_message("a chunk without FIRST outside a message", facts);
                ++pdus_dropped_;
                return Verdict::replace;
            }
            if (chunk->flags & vc::flag::compressed) {
                // Its bytes cannot be read without the client's compression history: a device
                // list might hide in it, so it does not pass.
                refuse_message("compressed data cannot be inspected", facts);
                ++pdus_dropped_;
                message_ = last ? Message::none : Message::dropping;
                return Verdict::replace;
            }
            const uint16_t packet = rdpdr::core_packet(chunk->data);
            const bool candidate = packet == rdpdr::kDeviceListAnnounce ||
                                   packet == rdpdr::kDeviceListRemove ||
                                   chunk->data.size() < rdpdr::kHeaderSize;
            if (!candidate) {
                if (!last) message_ = Message::passing;
                return Verdict::pass;
            }
            message_ = Message::inspecting;
            message_flags_ = chunk->flags;
            break;
        }
        case Message::inspecting:
            break;
    }
    auto done = reassembler_.add(*chunk);
    if (!done) {
        refuse_message(done.error().message(), facts);
        ++pdus_dropped_;
        message_ = last ? Message::none : Message::dropping;
        return Verdict::replace;
    }
    if (!*done) return Verdict::replace;  // held until the message is whole
    message_ = Message::none;
    const bool changed = rdpdr_message(
        **done, message_flags_, std::max(reassembler_.largest_chunk(), std::size_t(1)), out, facts);
    // A message that came whole and stays as it was goes on as the client framed it.
    return !changed && first && last ? Verdict::pass : Verdict::replace;
}

bool ChannelFilter::rdpdr_message(ByteView message, uint32_t flags, std::size_t chunk_size,
                                  std::vector<Bytes>& out, Facts& facts) {
    const uint16_t packet = rdpdr::core_packet(message);
    Bytes rewritten;
    if (packet == rdpdr::kDeviceListAnnounce) {
        auto devices = rdpdr::decode_device_list_announce(message);
        if (!devices) {
            refuse_message(devices.error().message(), facts);
            return true;
        }
        std::vector<rdpdr::Device> kept;
        for (const auto& d : *devices) {
            if (policy_.passes_device(d.type)) {
                kept.push_back(d);
                continue;
            }
            refused_ids_.insert(d.id);
            ++devices_refused_;
            facts.emplace_back("channel_refused",
                               "channel=rdpdr device=" + token(rdpdr::device_type_name(d.type)) +
                                   " id=" + std::to_string(d.id) + " name=" + token(d.dos_name));
        }
        if (kept.size() != devices->size()) rewritten = rdpdr::encode_device_list_announce(kept);
    } else if (packet == rdpdr::kDeviceListRemove) {
        auto ids = rdpdr::decode_device_list_remove(message);
        if (!ids) {
            refuse_message(ids.error().message(), facts);
            return true;
        }
        std::vector<uint32_t> kept;
        std::copy_if(ids->begin(), ids->end(), std::back_inserter(kept),
                     [this](uint32_t id) { return !refused_ids_.contains(id); });
        if (kept.empty()) return true;  // it only named devices the host never saw
        if (kept.size() != ids->size()) rewritten = rdpdr::encode_device_list_remove(kept);
    }
    const ByteView send = rewritten.empty() ? message : ByteView(rewritten);
    out = vc::chunk(send, flags, chunk_size);
    return !rewritten.empty();
}

void ChannelFilter::refuse_message(std::string why, Facts& facts) {
    facts.emplace_back("channel_refused", "channel=rdpdr message withheld: " + std::move(why));
}

}  // namespace rdpbridge::rdp
