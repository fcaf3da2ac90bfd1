// The review as JSON: the twins of the page's sections that the admin endpoint serves under
// /api/. Field names are review.hpp's, so the model documents both.
#include "proxy/review/render.hpp"

namespace rdpbridge::review {

namespace {

Json last_failure_json(const std::optional<LastFailure>& f) {
    if (!f) return nullptr;
    return Json{{"ts", f->ts},       {"stage", f->stage},
                {"cause", f->cause}, {"explanation", f->explanation},
                {"fix", f->fix},     {"detail", f->detail},
                {"conn", f->conn}};
}

Json backend_json(const BackendRow& b) {
    return Json{{"name", b.name},
                {"address", b.address},
                {"state", b.state},
                {"last_success", b.last_success},
                {"last_failure", last_failure_json(b.last_failure)},
                {"front_security", b.front_security},
                {"back_security", b.back_security},
                {"cert_days_left", b.cert_days_left ? Json(*b.cert_days_left) : Json(nullptr)},
                {"identity", b.identity},
                {"sessions_now", b.sessions_now},
                {"established", b.established},
                {"failed", b.failed},
                {"channel_policies", b.channel_policies},
                {"channels_kept", b.channels_kept}};
}

Json timeline_json(const Timeline& t) {
    Json series = Json::array();
    for (const auto& s : t.by_cause)
        series.push_back({{"cause", s.cause}, {"counts", s.counts}, {"total", s.total}});
    return Json{{"label", t.label},
                {"start", t.start},
                {"bucket_seconds", t.bucket_seconds},
                {"buckets", t.buckets},
                {"by_cause", std::move(series)}};
}

Json cause_json(const CauseInfo& c) {
    return Json{{"cause", c.cause},
                {"explanation", c.explanation},
                {"mstsc", c.mstsc},
                {"freerdp", c.freerdp},
                {"fix", c.fix}};
}

Json session_json(const LiveSession& s) {
    return Json{{"conn", s.conn},
                {"user", s.user},
                {"client", s.client},
                {"backend", s.backend},
                {"front_security", s.front_security},
                {"back_security", s.back_security},
                {"since", s.since},
                {"bytes_client_to_host", s.bytes_client_to_host},
                {"bytes_host_to_client", s.bytes_host_to_client}};
}

template <class T, class F>
Json array_of(const std::vector<T>& items, F&& to_json) {
    Json a = Json::array();
    for (const auto& item : items) a.push_back(to_json(item));
    return a;
}

}  // namespace

Json backends_json(const Review& r) {
    return Json{{"backends", array_of(r.backends, backend_json)}};
}

Json failures_json(const Review& r) {
    return Json{{"timelines", array_of(r.timelines, timeline_json)},
                {"failures_in_window", r.failures_in_window}};
}

Json causes_json(const Review& r) {
    return Json{{"causes", array_of(r.causes, cause_json)}};
}

Json sessions_json(const Review& r) {
    return Json{{"sessions", array_of(r.sessions, session_json)}};
}

Json recent_json(const Review& r) {
    return Json{{"recent_failures", r.recent_failures}};
}

Json to_json(const Review& r) {
    Json j{{"title", r.title}, {"generated", r.generated}, {"access", r.access}, {"live", r.live}};
    for (const Json& part :
         {backends_json(r), failures_json(r), causes_json(r), sessions_json(r), recent_json(r)})
        for (const auto& [key, value] : part.items()) j[key] = value;
    return j;
}

}  // namespace rdpbridge::review
