// What the Bridge's files share and nothing outside rdp/bridge*.cpp needs.
#pragma once

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::bridge_detail {

inline void append(Bytes& out, ByteView b) {
    out.insert(out.end(), b.begin(), b.end());
}

}  // namespace rdpbridge::rdp::bridge_detail
