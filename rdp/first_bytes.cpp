#include "rdp/first_bytes.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace rdpbridge::rdp {

Cause classify_first_bytes(ByteView first) {
    const std::string_view text(reinterpret_cast<const char*>(first.data()), first.size());
    // A TLS record: handshake content type 0x16 followed by a 3.x version.
    if (first.size() >= 2 && first[0] == 0x16 && first[1] == 0x03) return Cause::client_spoke_tls;
    static constexpr std::array<std::string_view, 8> kHttp{
        "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT ", "RDG_OUT_DATA ", "RDG_IN_DATA "};
    if (first.size() >= 3) {
        for (auto method : kHttp) {
            if (text.starts_with(method.substr(0, std::min(method.size(), first.size()))))
                return Cause::client_spoke_http;
        }
    }
    return Cause::client_not_rdp;
}

bool is_tls_record(ByteView first) {
    return first.size() >= 2 && first[0] >= 0x14 && first[0] <= 0x17 && first[1] == 0x03;
}

}  // namespace rdpbridge::rdp
