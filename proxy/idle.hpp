// The idle timeout's decisions, apart from the timer that drives them (relay.hpp), so that they
// can be tested with the clock passed in.
#pragma once

#include <chrono>
#include <string>

namespace rdpbridge::proxy {

// Whether a session whose last byte moved at `last_activity` has been idle for the whole
// `timeout` at `now`. The timer may wake late, or after bytes moved since it was set: only this
// answer closes a session. A zero timeout means never.
bool idle_expired(std::chrono::steady_clock::time_point now,
                  std::chrono::steady_clock::time_point last_activity,
                  std::chrono::milliseconds timeout);

// The session_closed reason for a session closed by the idle timeout, naming the timeout as
// configured: whole seconds as "N s", anything finer as "N ms" (never rounded down to "0 s").
std::string idle_reason(std::chrono::milliseconds timeout);

}  // namespace rdpbridge::proxy
