// One handshake-log line, reduced to the facts `rdpbridge logs` aggregates. The log's own
// schema is written by proxy/handshake_log.cpp and proxy/session.cpp; see README "The handshake
// log".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
    // A backend's channel policy at work (README "The handshake log"); none of it is a failure.
    // session_established: the policy's one-line description ("channels deny cliprdr; devices
    // deny drive"), empty when the session had none.
    std::string channel_policy;
    // bridge: the static channels the policy kept from the host (channels_removed), and the
    // removed channel a client first sent data on (channel_data_dropped).
    std::vector<std::string> channels_removed;
    std::string channel_data_dropped;
    // channel_refused: the channel; a refused device's type (drive, printer, ...), or else why a
    // message was withheld ("message withheld: compressed data cannot be inspected").
    std::string channel;
    std::string device_type;
    std::string reason;
    // session_closed of a session under a policy: the PDUs it kept from the host.
    std::optional<std::uint64_t> channel_pdus_dropped;
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
// channel_refused is no failure: like bridge, a connection may log it more than once.
std::optional<Event> parse_event(std::string_view line);
// An event of the gateway itself rather than of a connection (no "conn"): refusals_summary,
// log_events_dropped, gateway_stopped. `logs` skips these without counting them as malformed.
bool is_gateway_event(std::string_view line);

}  // namespace rdpbridge::logs
