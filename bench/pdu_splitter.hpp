// Cuts a received RDP byte stream into PDUs without copying it: only the first bytes of each PDU
// (its head, where the latency probe sits) are kept. rdp::Framer would buffer every PDU whole,
// which at gigabytes per second would make the synthetic peers, not the gateway, the bottleneck.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "rdp/tpkt.hpp"

namespace rdpbridge::bench {

class PduSplitter {
  public:
    static constexpr std::size_t kHead = 64;

    // Calls on_pdu(head, pdu_length) for every PDU completed by `in`; head holds its first
    // min(kHead, pdu_length) bytes. Returns an error text when the stream is not RDP.
    template <class OnPdu>
    std::string feed(rdp::ByteView in, OnPdu&& on_pdu) {
        while (!in.empty()) {
            if (length_ == 0) {
                // Header bytes one at a time until the length is known (at most 4).
                head_[have_++] = in[0];
                in = in.subspan(1);
                auto header = rdp::peek_frame(rdp::ByteView(head_.data(), have_));
                if (!header) return header.error().message();
                if (*header) length_ = (*header)->length;
                if (length_ != 0 && length_ < have_) return "PDU length shorter than its header";
            } else {
                const std::size_t take = std::min(in.size(), length_ - have_);
                if (have_ < kHead) {
                    const std::size_t keep = std::min(take, kHead - have_);
                    std::copy_n(in.begin(), keep, head_.begin() + long(have_));
                }
                have_ += take;
                in = in.subspan(take);
            }
            if (length_ != 0 && have_ == length_) {
                on_pdu(rdp::ByteView(head_.data(), std::min(kHead, length_)), length_);
                length_ = 0;
                have_ = 0;
            }
        }
        return {};
    }

  private:
    std::array<uint8_t, kHead> head_{};
    std::size_t have_ = 0;    // bytes of the current PDU seen so far
    std::size_t length_ = 0;  // its announced length; 0 while the header is incomplete
};

}  // namespace rdpbridge::bench
