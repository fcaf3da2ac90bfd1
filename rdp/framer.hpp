// Cuts a byte stream into whole PDUs (TPKT or fast-path) without ever holding more than one
// PDU's worth of bytes beyond what the caller allows.
#pragma once

#include <optional>

#include "rdp/tpkt.hpp"

namespace rdpbridge::rdp {

class Framer {
  public:
    explicit Framer(std::size_t max_pdu) : max_pdu_(max_pdu) {}

    void feed(ByteView bytes) { buffer_.insert(buffer_.end(), bytes.begin(), bytes.end()); }
    // The next complete PDU; nullopt while one is incomplete; Error when the stream is not RDP
    // or announces a PDU larger than max_pdu.
    Result<std::optional<Bytes>> next();
    std::size_t buffered() const { return buffer_.size(); }
    // Everything buffered and not yet returned, leaving the framer empty.
    Bytes take_rest();

  private:
    std::size_t max_pdu_;
    Bytes buffer_;
};

}  // namespace rdpbridge::rdp
