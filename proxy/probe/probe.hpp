// The probe as a whole: resolve, scan the security layers, then TLS and Standard RDP Security
// where the host offers them, judge, and confirm the recommended profile with one handshake.
#pragma once

#include "proxy/probe/findings.hpp"
#include "proxy/probe/wire.hpp"

namespace rdpbridge::probe {

// The whole probe stops starting connections after this many step timeouts (at least
// kMinTotal), so that its running time has a bound whatever the host does.
inline constexpr int kStepsPerProbe = 6;
inline constexpr Millis kMinTotal{10'000};

Findings run_probe(const Target& target, Millis step_timeout);

}  // namespace rdpbridge::probe
