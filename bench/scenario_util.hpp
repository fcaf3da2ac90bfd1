// Small helpers the scenarios share: measurement windows and instrument checks.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench/fleet.hpp"

namespace rdpbridge::bench {

// A measurement window (not synchronisation: what happens in it is what is measured).
inline void measure_for(double seconds) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

inline std::string first_errors(const Fleet& fleet) {
    std::string s;
    for (const auto& e : fleet.errors()) s += (s.empty() ? "" : "; ") + e;
    return s.empty() ? "no error recorded" : s;
}

// Every session must have come up: a figure over fewer sessions than asked would mislead.
inline void require_established(const OpenResult& r, std::size_t wanted, const Fleet& fleet,
                                const std::string& what) {
    if (r.established != wanted) {
        throw std::runtime_error(what + ": " + std::to_string(r.established) + " of " +
                                 std::to_string(wanted) + " sessions established (" +
                                 first_errors(fleet) + ")");
    }
}

}  // namespace rdpbridge::bench
