#include "proxy/logs/event.hpp"

#include <nlohmann/json.hpp>

namespace rdpbridge::logs {

namespace {

using Json = nlohmann::json;

// A string member, or "" when absent or of another type: optional fields never fail a line.
std::string text(const Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// See Event::distinct. For events other than `stage` and `warning`, every field but the three
// every line has: nlohmann::json keeps keys sorted, so a copy whose keys were reordered or
// re-spaced by another tool still matches.
std::string distinct_of(const Json& j, const std::string& name) {
    if (name == "stage") return text(j, "stage");
    if (name == "warning") return text(j, "warning");
    Json rest = j;
    for (const char* key : {"ts", "conn", "event"}) rest.erase(key);
    return rest.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A string array member's strings; other members and elements of other types are left out.
std::vector<std::string> texts(const Json& j, const char* key) {
    std::vector<std::string> out;
    const auto it = j.find(key);
    if (it == j.end() || !it->is_array()) return out;
    for (const auto& v : *it)
        if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

}  // namespace

bool once_per_connection(std::string_view name) {
    return name == "connection_accepted" || name == "session_established" ||
           name == "handshake_failed" || name == "session_closed";
}

bool is_gateway_event(std::string_view line) {
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || j.contains("conn") || !parse_timestamp(text(j, "ts"))) return false;
    const std::string name = text(j, "event");
    return name == "refusals_summary" || name == "log_events_dropped" || name == "gateway_stopped";
}

std::optional<Event> parse_event(std::string_view line) {
    // No exceptions: a log full of garbage must not cost an exception per line.
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;

    Event e;
    const auto ts = parse_timestamp(text(j, "ts"));
    if (!ts) return std::nullopt;
    e.ts = *ts;
    e.conn = text(j, "conn");
    e.name = text(j, "event");
    if (e.conn.empty() || e.name.empty()) return std::nullopt;
    e.backend = text(j, "backend");

    if (e.name == "handshake_failed") {
        e.stage = text(j, "stage");
        e.cause = text(j, "cause");
        if (e.stage.empty() || e.cause.empty()) return std::nullopt;
        e.detail = text(j, "detail");
        e.explanation = text(j, "explanation");
        e.hint = text(j, "hint");
    } else if (e.name == "connection_accepted") {
        e.client = text(j, "client");
    } else if (e.name == "session_established") {
        const auto it = j.find("handshake_ms");
        if (it != j.end() && it->is_number()) e.handshake_ms = it->get<double>();
        e.channel_policy = text(j, "channel_policy");
    } else if (e.name == "bridge") {
        e.channels_removed = texts(j, "channels_removed");
        e.channel_data_dropped = text(j, "channel_data_dropped");
    } else if (e.name == "channel_refused") {
        e.channel = text(j, "channel");
        e.device_type = text(j, "device_type");
        e.reason = text(j, "reason");
    } else if (e.name == "session_closed") {
        const auto it = j.find("channel_pdus_dropped");
        if (it != j.end() && it->is_number_unsigned())
            e.channel_pdus_dropped = it->get<std::uint64_t>();
    }
    if (!once_per_connection(e.name)) e.distinct = distinct_of(j, e.name);
    return e;
}

}  // namespace rdpbridge::logs
