// Real captured PDUs live in tests/fixtures/ (see its README for how each was captured).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "rdp/bytes.hpp"

namespace rdpbridge::test {

inline rdp::Bytes fixture(const std::string& name) {
    const std::string path = std::string(RDPBRIDGE_FIXTURES_DIR) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) ADD_FAILURE() << "missing fixture " << path;
    return rdp::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every strict prefix of a valid PDU must be rejected with an error, never read past its end.
template <class Decode>
void expect_truncations_rejected(const rdp::Bytes& pdu, Decode decode) {
    for (std::size_t n = 0; n < pdu.size(); ++n) {
        rdp::Bytes cut(pdu.begin(), pdu.begin() + long(n));
        auto r = decode(rdp::ByteView(cut));
        EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    }
}

}  // namespace rdpbridge::test
