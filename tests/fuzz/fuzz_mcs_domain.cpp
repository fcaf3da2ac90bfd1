// fuzz-requires: mcs_domain.cpp
// MCS domain PDUs after the connect exchange (mcs::domain_pdu_type, decode_send_data,
// encode_send_data, disconnect_reason): the carriers of every slow-path PDU the bridge opens;
// and decode_channel_join_request / encode_channel_join_confirm, with which a channel policy
// answers the client's join of a removed channel.
//
// Input: an X.224 Data payload, given to every decoder. Its first bytes also parameterise an
// encoder check: u8 flags, u16 initiator, u16 channel, u16 user-data size (the user data is
// the input repeated up to that size, so that sizes far beyond the input are reached at once).
// Oracles: a Send Data PDU re-encodes into a TPKT frame whose payload decodes to the same
// header and user data; whatever encode_send_data accepts decodes back to what it was given,
// and it refuses only user data too long for a PER length (more than 0x7FFF bytes); a Channel
// Join Request decodes exactly when the type says so and 5 bytes are there, and the confirm
// for it is one whole TPKT frame, a successful Channel Join Confirm of the same initiator and
// channel (requested and granted).
#include <algorithm>

#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::hex_prefix;

namespace {

bool same_header(const mcs::SendData& a, const mcs::SendData& b) {
    return a.indication == b.indication && a.initiator == b.initiator && a.channel == b.channel &&
           a.priority_segmentation == b.priority_segmentation;
}

// encode_send_data(header, user_data), then decode it again.
void round_trip(const mcs::SendData& header, ByteView user_data, const char* what) {
    auto frame = mcs::encode_send_data(header, user_data);
    if (!frame) {
        // A PER length determinant, as RDP peers read it, holds at most 15 bits.
        FUZZ_CHECK(user_data.size() > 0x7FFF, std::string(what) + ": encode_send_data refused " +
                                                  std::to_string(user_data.size()) +
                                                  " bytes: " + frame.error().message());
        return;
    }
    auto header_peek = peek_frame(*frame);
    FUZZ_CHECK(
        header_peek.ok() && header_peek->has_value() && (*header_peek)->length == frame->size(),
        std::string(what) + ": TPKT length does not match the frame");
    auto payload = unwrap_x224_data(*frame);
    FUZZ_CHECK(payload.ok(), std::string(what) + ": frame does not unwrap");
    auto again = mcs::decode_send_data(*payload);
    FUZZ_CHECK(again.ok(), std::string(what) + ": encode_send_data output does not decode (" +
                               std::to_string(user_data.size()) +
                               " bytes of user data): " + again.error().message());
    FUZZ_CHECK(same_header(header, *again), std::string(what) + ": header changed");
    FUZZ_CHECK(std::equal(again->user_data.begin(), again->user_data.end(), user_data.begin(),
                          user_data.end()),
               std::string(what) + ": user data changed (" + std::to_string(user_data.size()) +
                   " bytes in, " + std::to_string(again->user_data.size()) + " out)");
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_mcs_domain) {
    auto type = mcs::domain_pdu_type(input);
    FUZZ_CHECK(type.ok() == !input.empty(), "domain_pdu_type");
    if (type) FUZZ_CHECK(uint8_t(*type) == input[0] >> 2, "domain_pdu_type value");

    auto reason = mcs::disconnect_reason(input);
    if (reason) FUZZ_CHECK(*reason <= 7, "a three-bit reason above 7");

    auto sd = mcs::decode_send_data(input);
    if (sd) {
        FUZZ_CHECK(type && (*type == mcs::DomainPdu::send_data_request ||
                            *type == mcs::DomainPdu::send_data_indication),
                   "decoded a Send Data PDU of another type");
        FUZZ_CHECK(sd->indication == (*type == mcs::DomainPdu::send_data_indication), "indication");
        FUZZ_CHECK(sd->user_data.data() >= input.data() &&
                       sd->user_data.data() + sd->user_data.size() == input.data() + input.size(),
                   "user data is not the payload's tail");
        round_trip(*sd, sd->user_data, "decoded");
    }

    // Channel Join Request, and the Channel Join Confirm the bridge answers one with.
    auto join = mcs::decode_channel_join_request(input);
    FUZZ_CHECK(
        join.ok() == (type && *type == mcs::DomainPdu::channel_join_request && input.size() >= 5),
        "decode_channel_join_request on " + hex_prefix(input));
    if (join) {
        FUZZ_CHECK(join->initiator == (input[1] << 8 | input[2]) &&
                       join->channel == (input[3] << 8 | input[4]),
                   "Channel Join Request fields");
        const Bytes confirm = mcs::encode_channel_join_confirm(*join);
        auto frame = peek_frame(confirm);
        FUZZ_CHECK(frame.ok() && frame->has_value() && (*frame)->length == confirm.size(),
                   "Channel Join Confirm: TPKT length does not match the frame");
        auto payload = unwrap_x224_data(confirm);
        FUZZ_CHECK(payload.ok() && payload->size() == 8, "Channel Join Confirm: payload");
        auto confirm_type = mcs::domain_pdu_type(*payload);
        FUZZ_CHECK(confirm_type && *confirm_type == mcs::DomainPdu::channel_join_confirm &&
                       ((*payload)[0] & 0x02) && (*payload)[1] == 0,
                   "Channel Join Confirm: not a successful confirm with its channel id");
        const auto u16 = [&](std::size_t at) {
            return uint16_t((*payload)[at] << 8 | (*payload)[at + 1]);
        };
        FUZZ_CHECK(u16(2) == join->initiator && u16(4) == join->channel && u16(6) == join->channel,
                   "Channel Join Confirm: initiator, requested and granted channel");
    }

    // Encoder: any header, any size it accepts.
    rdpbridge::fuzz::Input in(input);
    mcs::SendData header;
    const uint8_t flags = in.u8();
    header.indication = flags & 1;
    header.initiator = in.u16();
    header.channel = in.u16();
    header.priority_segmentation = uint8_t(flags & 0xF0);
    const std::size_t size = in.u16();
    const ByteView pattern = in.rest();
    Bytes user_data(size, 0xA5);
    for (std::size_t i = 0; !pattern.empty() && i < size; ++i)
        user_data[i] = pattern[i % pattern.size()];
    round_trip(header, user_data, "synthetic");
}
