#include "rdp/framer.hpp"

#include <algorithm>

namespace rdpbridge::rdp {

Result<std::optional<Bytes>> Framer::next() {
    using Next = std::optional<Bytes>;
    auto header = peek_frame(buffer_);
    if (!header) return header.error();
    if (!*header) return Next{};
    const std::size_t length = (*header)->length;
    if (length > max_pdu_) {
        return Error{(*header)->kind == FrameKind::tpkt ? "tpkt.length" : "fastpath.length",
                     "announces " + std::to_string(length) + " bytes, more than the limit of " +
                         std::to_string(max_pdu_)};
    }
    if (buffer_.size() < length) return Next{};
    Bytes pdu(buffer_.begin(), buffer_.begin() + std::ptrdiff_t(length));
    const auto rest_end =
        std::copy(buffer_.begin() + std::ptrdiff_t(length), buffer_.end(), buffer_.begin());
    // The vacated tail holds the PDU's bytes or stale copies of the rest; zeroing it while it
    // is still inside the vector keeps the writes defined (and observable to the optimiser).
    if (wipe_) std::fill(rest_end, buffer_.end(), uint8_t(0));
    buffer_.resize(buffer_.size() - length);
    return Next{std::move(pdu)};
}

Bytes Framer::take_rest() {
    Bytes rest;
    rest.swap(buffer_);
    return rest;
}

}  // namespace rdpbridge::rdp
