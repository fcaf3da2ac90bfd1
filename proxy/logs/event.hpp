// One handshake-log line, reduced to the facts `rdpbridge logs` aggregates. The log's own
// schema is written by proxy/handshake_log.cpp and proxy/session.cpp; see README "The handshake
// log".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/logs/time_text.hpp"

namespace rdpbridge::logs {

struct Event {
    TimePoint ts;
    std::string conn;
    std::string name;     // "event": connection_accepted, stage, handshake_failed, ...
    std::string backend;  // empty until the connection was routed
    // connection_accepted: the client's address and port
    std::string client;
    // handshake_failed
    std::string stage;
    std::string cause;
    std::string detail;
    std::string explanation;
    std::string hint;
    // session_established
    std::optional<double> handshake_ms;
    // What tells two same-named events of one connection apart, for the events a connection
    // may log more than once (see once_per_connection): the stage of a `stage`, the code of a
    // `warning`, the fact of a `bridge`, all fields of an event this reader does not know.
    // Overlapping files (a rotated file and its copy) are de-duplicated on it and on `ts`.
    std::string distinct;
};

// connection_accepted, session_established, handshake_failed and session_closed: a connection
// logs each at most once, so a second one with the same `conn` is the same line read again.
bool once_per_connection(std::string_view event_name);

// nullopt when the line is not a handshake event: not JSON, not an object, or missing a
// parsable "ts", a "conn" or an "event" (and, for handshake_failed, "stage" and "cause").
// Unknown event names parse: newer gateways may add events, and older readers skip them.
std::optional<Event> parse_event(std::string_view line);
// An event of the gateway itself rather than of a connection (no "conn"): refusals_summary,
// log_events_dropped, gateway_stopped. `logs` skips these without counting them as malformed.
bool is_gateway_event(std::string_view line);

}  // namespace rdpbridge::logs
