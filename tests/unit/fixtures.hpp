// Real captured PDUs live in tests/fixtures/ (see its README for how each was captured).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "rdp/bytes.hpp"
#include "rdp/framer.hpp"

namespace rdpbridge::test {

inline rdp::Bytes fixture(const std::string& name) {
    const std::string path = std::string(RDPBRIDGE_FIXTURES_DIR) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) ADD_FAILURE() << "missing fixture " << path;
    return rdp::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A byte stream (what a bridge wrote for one peer) cut into its PDUs; nothing may be left over.
inline std::vector<rdp::Bytes> split_pdus(const rdp::Bytes& stream) {
    rdp::Framer f(0xFFFF);
    f.feed(stream);
    std::vector<rdp::Bytes> out;
    while (auto p = f.next()) {
        if (!*p) break;
        out.push_back(**p);
    }
    EXPECT_EQ(f.buffered(), 0u);
    return out;
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
