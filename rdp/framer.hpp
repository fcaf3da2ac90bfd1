// Cuts a byte stream into whole PDUs (TPKT or fast-path) without ever holding more than one
// PDU's worth of bytes beyond what the caller allows.
#pragma once

#include <optional>

#include "rdp/tpkt.hpp"

namespace rdpbridge::rdp {

class Framer {
  public:
    // `wipe`: zero the bytes of each PDU in the buffer once it has been returned, for a stream
    // that may carry a secret (the client's Client Info holds a password), so that no stale
    // copy of it lingers in the buffer's spare capacity.
    explicit Framer(std::size_t max_pdu, bool wipe = false) : max_pdu_(max_pdu), wipe_(wipe) {}

    void feed(ByteView bytes) { buffer_.insert(buffer_.end(), bytes.begin(), bytes.end()); }
    // The next complete PDU; nullopt while one is incomplete; Error when the stream is not RDP
    // or announces a PDU larger than max_pdu.
    Result<std::optional<Bytes>> next();
    std::size_t buffered() const { return buffer_.size(); }
    // Whether this framer's stream may carry a secret (see the constructor).
    bool wipes() const { return wipe_; }
    // Everything buffered and not yet returned, leaving the framer empty.
    Bytes take_rest();

  private:
    std::size_t max_pdu_;
    bool wipe_;
    Bytes buffer_;
};

}  // namespace rdpbridge::rdp
