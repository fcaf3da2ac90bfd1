#include <map>
#include <nlohmann/json.hpp>

#include "proxy/logs/report.hpp"
#include "proxy/logs/vocabulary.hpp"

namespace rdpbridge::logs {

namespace {

using Json = nlohmann::ordered_json;

Json time_or_null(const std::optional<TimePoint>& t) {
    return t ? Json(format_timestamp(*t)) : Json(nullptr);
}

Json ms_or_null(const std::optional<double>& v) {
    return v ? Json(*v) : Json(nullptr);
}

Json counts_json(const std::map<std::string, std::uint64_t>& counts) {
    Json j = Json::object();
    for (const auto& [name, n] : counts) j[name] = n;
    return j;
}

// null for a backend no policy touched, so that most reports carry nothing new.
Json channels_json(const ChannelStats& c) {
    if (!c.any()) return nullptr;
    return Json{{"sessions", c.sessions},
                {"policies", counts_json(c.policies)},
                {"sessions_with_channels_removed", c.sessions_with_removed},
                {"channels_removed", counts_json(c.removed)},
                {"client_sent_on_removed", counts_json(c.sent_on_removed)},
                {"devices_refused", counts_json(c.devices_refused)},
                {"messages_withheld", counts_json(c.withheld)},
                {"channel_pdus_dropped", c.pdus_dropped}};
}

Json backend_json(const BackendStats& b) {
    return Json{
        {"name", b.name},
        {"connections", b.connections},
        {"established", b.established},
        {"failed", b.failed},
        {"unfinished", b.unfinished},
        {"handshake_ms",
         {{"samples", b.timed}, {"p50", ms_or_null(b.p50_ms)}, {"p95", ms_or_null(b.p95_ms)}}},
        {"channel_policy", channels_json(b.channels)}};
}

Json failure_json(const FailureGroup& g) {
    Json examples = Json::array();
    for (const auto& ex : g.examples)
        examples.push_back({{"conn", ex.conn},
                            {"ts", format_timestamp(ex.ts)},
                            {"client", ex.client.empty() ? Json(nullptr) : Json(ex.client)},
                            {"detail", ex.detail}});
    return Json{{"stage", g.stage},
                {"cause", g.cause},
                {"count", g.count},
                {"explanation", g.explanation},
                {"fix", g.fix},
                {"first_seen", format_timestamp(g.first_seen)},
                {"last_seen", format_timestamp(g.last_seen)},
                {"examples", std::move(examples)}};
}

std::string dump(const Json& j, int indent) {
    // Log text is not trusted to be UTF-8; replace rather than throw while reporting.
    return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string json_report(const Summary& s, const Scope& scope, bool one_line) {
    Json backends = Json::array();
    for (const auto& b : s.backends) backends.push_back(backend_json(b));
    Json failures = Json::array();
    for (const auto& g : s.failures) failures.push_back(failure_json(g));
    Json malformed{{"count", s.malformed}, {"first", nullptr}};
    if (s.first_malformed)
        malformed["first"] = {{"file", s.first_malformed->file}, {"line", s.first_malformed->line}};
    const Json doc{
        {"schema", "rdpbridge.logs/1"},
        {"files", scope.files},
        {"filter",
         {{"since", time_or_null(scope.filter.since)},
          {"until", time_or_null(scope.filter.until)},
          {"backend", scope.filter.backend ? Json(*scope.filter.backend) : Json(nullptr)}}},
        {"events", s.events},
        {"first_event", time_or_null(s.first_event)},
        {"last_event", time_or_null(s.last_event)},
        {"totals", backend_json(s.total)},
        {"backends", std::move(backends)},
        {"failures", std::move(failures)},
        {"backends_in_files", s.backends_in_files},
        {"malformed", std::move(malformed)}};
    return dump(doc, one_line ? -1 : 2) + "\n";
}

std::string json_failure_line(const Event& e, const std::string& backend) {
    const auto words = failure_words(e.cause, e.explanation, e.hint);
    return dump(Json{{"ts", format_timestamp(e.ts)},
                     {"conn", e.conn},
                     {"backend", backend},
                     {"stage", e.stage},
                     {"cause", e.cause},
                     {"detail", e.detail},
                     {"explanation", words.explanation},
                     {"fix", words.fix}},
                -1);
}

}  // namespace rdpbridge::logs
