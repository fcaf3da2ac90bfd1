#include "rdp/framer.hpp"

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
    buffer_.erase(buffer_.begin(), buffer_.begin() + std::ptrdiff_t(length));
    return Next{std::move(pdu)};
}

Bytes Framer::take_rest() {
    Bytes rest;
    rest.swap(buffer_);
    return rest;
}

}  // namespace rdpbridge::rdp
