#include "proxy/status_page.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "proxy/logs/reader.hpp"
#include "proxy/logs/time_text.hpp"
#include "proxy/logs/vocabulary.hpp"
#include "proxy/review/render.hpp"

namespace rdpbridge::proxy {

namespace {

// Every cause the page names: in a timeline, a backend's last failure, a recent failure. The
// week's most frequent first: the charts colour causes in this order.
std::vector<std::string> causes_named(const review::Review& r) {
    std::vector<std::string> ids;
    std::set<std::string> seen;
    const auto add = [&](const std::string& id) {
        if (!id.empty() && seen.insert(id).second) ids.push_back(id);
    };
    for (auto t = r.timelines.rbegin(); t != r.timelines.rend(); ++t)
        for (const auto& series : t->by_cause) add(series.cause);
    for (const auto& b : r.backends)
        if (b.last_failure) add(b.last_failure->cause);
    for (const auto& e : r.recent_failures) add(e.value("cause", ""));
    return ids;
}

AdminResponse json(const review::Json& j) {
    return {200, "application/json", j.dump(2, ' ', false, review::Json::error_handler_t::replace)};
}

}  // namespace

AdminResponse status_response(std::string_view path, const std::function<review::Review()>& build) {
    using Section = review::Json (*)(const review::Review&);
    static const std::pair<std::string_view, Section> kApi[] = {
        {"/api/review", review::to_json},         {"/api/backends", review::backends_json},
        {"/api/failures", review::failures_json}, {"/api/causes", review::causes_json},
        {"/api/sessions", review::sessions_json}, {"/api/recent", review::recent_json},
    };
    const auto page = [&] {
        auto r = build();
        r.causes = logs::causes_for(causes_named(r));
        return r;
    };
    const auto started = std::chrono::steady_clock::now();
    const auto timed = [&](AdminResponse r) {
        const std::chrono::duration<double, std::milli> took =
            std::chrono::steady_clock::now() - started;
        char text[48];
        std::snprintf(text, sizeof text, "render;dur=%.2f", took.count());
        r.server_timing = text;
        return r;
    };
    if (path == "/") return timed({200, "text/html; charset=utf-8", review::render_html(page())});
    for (const auto& [name, section] : kApi)
        if (path == name) return timed(json(section(page())));
    return {404, "text/plain; charset=utf-8",
            "not found; the status page is /, its JSON /api/review, /api/backends, "
            "/api/failures, /api/causes, /api/sessions, /api/recent\n"};
}

std::size_t seed_from_log(StatusBoard& board, const config::Logging& logging,
                          StatusBoard::Clock::time_point now) {
    if (!logging.handshake_log) return 0;
    const auto& live = *logging.handshake_log;
    // handshake.jsonl rotates to handshake.1.jsonl (newest) ... handshake.N.jsonl (oldest).
    std::vector<std::filesystem::path> files;
    for (std::size_t n = logging.rotate_files; n >= 1; --n)
        files.push_back(live.parent_path() / (live.stem().string() + "." + std::to_string(n) +
                                              live.extension().string()));
    files.push_back(live);
    const auto since = now - std::chrono::hours(24 * 7);
    std::size_t taken = 0;
    for (const auto& file : files) {
        if (!std::filesystem::exists(file)) continue;
        logs::read_lines(file, [&](const logs::Line& line) {
            // Most lines are stage events: only the two kinds the board keeps are parsed.
            if (line.text.find("\"session_established\"") == std::string_view::npos &&
                line.text.find("\"handshake_failed\"") == std::string_view::npos)
                return;
            const auto event = review::Json::parse(line.text, nullptr, false);
            if (!event.is_object()) return;
            const auto ts = logs::parse_timestamp(event.value("ts", ""));
            if (!ts || *ts < since || *ts > now) return;
            board.on_event(event, StatusBoard::Clock::time_point(*ts));
            ++taken;
        });
    }
    return taken;
}

std::string hostname() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "this machine";
    return name;
}

std::string identity_state(config::CertVerify verify,
                           const std::optional<trust::KnownHost>& known) {
    switch (verify) {
        case config::CertVerify::off:
            return "not checked";
        case config::CertVerify::pin:
            return "pinned";
        case config::CertVerify::ca:
            return "CA-verified";
        case config::CertVerify::tofu:
            break;
    }
    if (known && known->pending) return known->trusted() ? "changed, refused" : "unknown, refused";
    if (known && known->trusted()) return "learned";
    return "not yet seen";
}

review::Review status_review(const StatusInputs& in, StatusBoard::Clock::time_point now) {
    std::vector<std::string> names;
    for (const auto& b : in.config.backends) names.push_back(b.name);
    review::Review r = in.board.review(now, names);
    r.title = "rdpbridge on " + in.hostname;
    r.access = in.access;
    r.live = true;
    for (auto& row : r.backends) {
        const config::Backend* b = in.config.find_backend(row.name);
        if (b == nullptr) continue;  // named by the log, gone from the config since a reload
        const std::string address = b->address.host + ":" + std::to_string(b->address.port);
        row.address = address;
        std::optional<trust::KnownHost> known;
        if (b->tls.verify == config::CertVerify::tofu) {
            try {
                known = in.known_hosts.lookup(b->name, address);
            } catch (const trust::StoreError&) {
                row.identity = "store unreadable";
                continue;
            }
        }
        row.identity = identity_state(b->tls.verify, known);
    }
    for (const auto& s : in.sessions)
        for (auto& row : r.backends)
            if (row.name == s.backend) ++row.sessions_now;
    r.sessions = in.sessions;
    return r;
}

}  // namespace rdpbridge::proxy
