// Structural equality and descriptions of decoded GCC/MCS values, for round-trip oracles.
#pragma once

#include <string>

#include "rdp/gcc.hpp"
#include "rdp/mcs.hpp"

namespace rdpbridge::fuzz {

inline bool same(const rdp::gcc::ConferenceCreate& a, const rdp::gcc::ConferenceCreate& b) {
    if (a.direction != b.direction || a.connect_pdu_header != b.connect_pdu_header ||
        a.connect_length_skew != b.connect_length_skew ||
        a.long_connect_length != b.long_connect_length ||
        a.long_user_data_length != b.long_user_data_length || a.blocks.size() != b.blocks.size())
        return false;
    for (std::size_t i = 0; i < a.blocks.size(); ++i)
        if (a.blocks[i].type != b.blocks[i].type || a.blocks[i].body != b.blocks[i].body)
            return false;
    return true;
}

inline bool same(const rdp::mcs::ConnectPdu& a, const rdp::mcs::ConnectPdu& b) {
    return a.direction == b.direction && a.fields_before_user_data == b.fields_before_user_data &&
           a.outer_length_width == b.outer_length_width &&
           a.user_data_length_width == b.user_data_length_width && same(a.conference, b.conference);
}

inline std::string describe(const rdp::gcc::ConferenceCreate& c) {
    std::string s = "header " + std::to_string(c.connect_pdu_header.size()) + "B skew " +
                    std::to_string(c.connect_length_skew) + (c.long_connect_length ? " long" : "") +
                    (c.long_user_data_length ? " long-data" : "") + " blocks [";
    for (const auto& b : c.blocks)
        s += rdp::hex32(b.type).substr(6) + ":" + std::to_string(b.body.size()) + " ";
    return s + "]";
}

inline std::string describe(const rdp::mcs::ConnectPdu& p) {
    return "fields " + std::to_string(p.fields_before_user_data.size()) + "B widths " +
           std::to_string(p.outer_length_width) + "/" + std::to_string(p.user_data_length_width) +
           " " + describe(p.conference);
}

}  // namespace rdpbridge::fuzz
