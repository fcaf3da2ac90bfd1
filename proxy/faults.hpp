// Test-only fault injection, to prove that an unexpected exception inside a session ends it with
// one `internal_error` line and leaves the gateway serving. Built only with
// -DRDPBRIDGE_FAULTS=ON; without it every call below compiles to nothing.
//
// RDPBRIDGE_FAULT=STAGE:N (read once at start) makes the N-th accepted connection (every
// connection when N is 0) throw std::runtime_error when it enters handshake stage STAGE, named as
// in the handshake log (rdp::to_string(Stage), e.g. front_tls).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rdp/diagnosis.hpp"

namespace rdpbridge::proxy {

#ifdef RDPBRIDGE_FAULTS

// Reads RDPBRIDGE_FAULT; returns a line to log when a fault is armed. Throws std::runtime_error
// on a malformed value, so that a test cannot silently run without its fault.
std::optional<std::string> load_fault_plan();
// `connection` is the connection id ("<prefix>-<ordinal>").
void fault_point(rdp::Stage stage, std::string_view connection);

#else

inline std::optional<std::string> load_fault_plan() {
    return std::nullopt;
}
inline void fault_point(rdp::Stage, std::string_view) {}

#endif

}  // namespace rdpbridge::proxy
