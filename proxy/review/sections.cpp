#include "proxy/review/sections.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "proxy/logs/summary.hpp"
#include "proxy/review/markup.hpp"

namespace rdpbridge::review {

namespace {

// The CSS class of a backend's state; the state's own words are always shown too.
const char* state_class(const std::string& state) {
    if (state == "ok") return "ok";
    if (state == "failing") return "failing";
    return "never";
}

std::string or_dash(const std::string& text) {
    return text.empty() ? "&mdash;" : escape(text);
}

std::string certificate_cell(const std::optional<long>& days) {
    if (!days) return "<td>&mdash;</td>";
    const std::string attrs = " data-days=\"" + std::to_string(*days) + "\"";
    std::string words;
    if (*days < 0)
        words = "expired " + std::to_string(-*days) + (*days == -1 ? " day ago" : " days ago");
    else if (*days == 0)
        words = "expires today";
    else
        words = std::to_string(*days) + (*days == 1 ? " day" : " days");
    // Thirty days is the warning the gateway itself logs (backend_certificate_expiring).
    return (*days < 30 ? "<td class=\"warn\"" : "<td") + attrs + ">" + words + "</td>";
}

std::string last_failure_cell(const std::optional<LastFailure>& f) {
    if (!f) return "<td>&mdash;</td>";
    std::string s = "<td class=\"failure\">" + time_element(f->ts) + " " + cause_link(f->cause);
    if (!f->stage.empty()) s += " <span class=\"small\">at " + escape(f->stage) + "</span>";
    if (!f->explanation.empty()) s += "<div class=\"why\">" + escape(f->explanation) + "</div>";
    if (!f->fix.empty()) s += "<div class=\"why\"><b>Fix:</b> " + escape(f->fix) + "</div>";
    if (!f->detail.empty() || !f->conn.empty()) {
        s += "<div class=\"small\">" + escape(f->detail);
        if (!f->conn.empty()) s += (f->detail.empty() ? "" : " &middot; ") + escape(f->conn);
        s += "</div>";
    }
    return s + "</td>";
}

// A cipher suite may break after its underscores (TLS_AES_256_GCM_SHA384 is one long word).
std::string suite_breaks(const std::string& text) {
    std::string out;
    for (const char c : escape(text)) {
        out += c;
        if (c == '_') out += "<wbr>";
    }
    return out.empty() ? "&mdash;" : out;
}

// Both legs in one cell, each named: the client's (front) and the host's (back).
std::string security_cell(const std::string& front, const std::string& back) {
    if (front.empty() && back.empty()) return "<td>&mdash;</td>";
    return "<td class=\"security\"><div><span class=\"leg\">client</span> " + suite_breaks(front) +
           "</div><div><span class=\"leg\">host</span> " + suite_breaks(back) + "</div></td>";
}

std::string number_cell(std::uint64_t n) {
    return "<td class=\"num\">" + std::to_string(n) + "</td>";
}

// 1536 as "1.5 KiB": sessions move anything from bytes to gigabytes.
std::string bytes_text(std::uint64_t n) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    std::size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(units)) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

std::string bytes_cell(std::uint64_t n) {
    return "<td class=\"num\" data-bytes=\"" + std::to_string(n) + "\">" + bytes_text(n) + "</td>";
}

// A string member of a logged event, or "".
std::string member(const Json& event, const char* key) {
    const auto it = event.find(key);
    return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string backend_of(const Json& event) {
    const std::string b = member(event, "backend");
    return b.empty() ? std::string(logs::kNoBackend) : b;
}

std::string options(const std::set<std::string>& values) {
    std::string s = "<option value=\"\">all</option>";
    for (const auto& v : values)
        s += "<option value=\"" + escape(v) + "\">" + escape(v) + "</option>";
    return s;
}

// The policies a backend's sessions ran under, then what they kept from the host.
std::string channels_cell(const BackendRow& b) {
    if (b.channel_policies.empty() && b.channels_kept.empty()) return "<td>&mdash;</td>";
    std::string s = "<td class=\"channels\">";
    for (const auto& p : b.channel_policies) s += "<div>" + escape(p) + "</div>";
    if (!b.channels_kept.empty()) s += "<div class=\"small\">" + escape(b.channels_kept) + "</div>";
    return s + "</td>";
}

}  // namespace

std::string backends_section(const Review& r) {
    std::string s = "<section id=\"backends\"><h2>Backends</h2>";
    if (r.backends.empty())
        return s + "<p class=\"meta\">No backend to show" +
               (r.live ? std::string(".") : std::string(": no event in the window names one.")) +
               "</p></section>";
    // Only where a channel policy was at work: most gateways have none.
    const bool channels = std::any_of(r.backends.begin(), r.backends.end(), [](const auto& b) {
        return !b.channel_policies.empty() || !b.channels_kept.empty();
    });
    // What is decided at a glance first (state, counts), the long cells last.
    s += "<div class=\"scroll\"><table><thead><tr><th>Backend</th><th>State</th>";
    if (r.live) s += "<th class=\"num\">Sessions now</th>";
    s += "<th class=\"num\">Established</th><th class=\"num\">Failed</th><th>Last success</th>"
         "<th>Last failure</th><th>Security</th><th>Certificate</th><th>Identity</th>";
    if (channels) s += "<th>Channel policy</th>";
    s += "</tr></thead><tbody>";
    for (const auto& b : r.backends) {
        s += "<tr data-backend=\"" + escape(b.name) + "\" data-state=\"" + escape(b.state) +
             "\"><th scope=\"row\">" + escape(b.name);
        if (!b.address.empty()) s += "<div class=\"small\">" + escape(b.address) + "</div>";
        s += "</th><td><span class=\"state " + std::string(state_class(b.state)) + "\">" +
             escape(b.state) + "</span></td>";
        if (r.live) s += number_cell(b.sessions_now);
        s += number_cell(b.established) + number_cell(b.failed) + "<td>" +
             time_element(b.last_success) + "</td>" + last_failure_cell(b.last_failure) +
             security_cell(b.front_security, b.back_security) + certificate_cell(b.cert_days_left);
        const bool refused = b.identity.find("refused") != std::string::npos;
        s += std::string(refused ? "<td class=\"warn\">" : "<td>") + or_dash(b.identity) + "</td>";
        if (channels) s += channels_cell(b);
        s += "</tr>";
    }
    return s + "</tbody></table></div></section>";
}

std::string causes_section(const Review& r) {
    std::string s = "<section id=\"causes\"><h2>Causes</h2>";
    if (r.causes.empty())
        return s + "<p class=\"meta\">No failure, so no cause to explain.</p></section>";
    s += "<p class=\"meta\">Every cause named on this page: what happened, what the client "
         "shows, and the fix.</p>";
    for (const auto& c : r.causes) {
        s += "<article class=\"cause\" id=\"cause-" + escape(c.cause) + "\"><h3><code>" +
             escape(c.cause) + "</code></h3><dl><dt>What happened</dt><dd>" +
             or_dash(c.explanation) + "</dd><dt>mstsc shows</dt><dd>" + or_dash(c.mstsc) +
             "</dd><dt>FreeRDP shows</dt><dd>" + or_dash(c.freerdp) + "</dd><dt>Fix</dt><dd>" +
             or_dash(c.fix) + "</dd></dl></article>";
    }
    return s + "</section>";
}

std::string sessions_section(const Review& r) {
    std::string s = "<section id=\"sessions\"><h2>Sessions now</h2>";
    if (r.sessions.empty()) return s + "<p class=\"meta\">No session is open.</p></section>";
    s += "<div class=\"scroll\"><table><thead><tr><th>User</th><th>Client</th><th>Backend</th>"
         "<th>Client leg</th><th>Host leg</th><th>Since</th><th class=\"num\">Client to "
         "host</th><th class=\"num\">Host to client</th></tr></thead><tbody>";
    for (const auto& x : r.sessions) {
        s += "<tr data-conn=\"" + escape(x.conn) + "\" data-backend=\"" + escape(x.backend) +
             "\"><td>" + or_dash(x.user) + "</td><td>" + or_dash(x.client) + "</td><td>" +
             or_dash(x.backend) + "</td><td>" + or_dash(x.front_security) + "</td><td>" +
             or_dash(x.back_security) + "</td><td>" + time_element(x.since) + "</td>" +
             bytes_cell(x.bytes_client_to_host) + bytes_cell(x.bytes_host_to_client) + "</tr>";
    }
    return s + "</tbody></table></div></section>";
}

std::string recent_section(const Review& r) {
    std::string s = "<section id=\"recent\"><h2>Recent failures</h2>";
    if (r.recent_failures.empty()) return s + "<p class=\"meta\">No failure.</p></section>";
    std::set<std::string> backends, causes;
    for (const auto& e : r.recent_failures) {
        backends.insert(backend_of(e));
        causes.insert(member(e, "cause"));
    }
    s += "<p class=\"meta\">The newest " + std::to_string(r.recent_failures.size()) +
         ", newest first; open one for its whole log line.</p>";
    // Hidden until the script shows it: without script the list is simply all of them.
    s += "<div class=\"filters\" hidden><label>Backend <select id=\"filter-backend\">" +
         options(backends) + "</select></label><label>Cause <select id=\"filter-cause\">" +
         options(causes) +
         "</select></label><span id=\"filter-count\" class=\"meta\"></span></div>";
    for (const auto& e : r.recent_failures) {
        const std::string cause = member(e, "cause"), stage = member(e, "stage");
        s += "<details data-conn=\"" + escape(member(e, "conn")) + "\" data-backend=\"" +
             escape(backend_of(e)) + "\" data-cause=\"" + escape(cause) + "\"><summary>" +
             time_element(member(e, "ts")) + " &middot; " + escape(backend_of(e)) +
             " &middot; <code>" + escape(cause) + "</code>";
        if (!stage.empty()) s += " <span class=\"small\">at " + escape(stage) + "</span>";
        s += " <span class=\"small\">" + escape(member(e, "conn")) + "</span>";
        // Log text is not trusted to be UTF-8: replaced rather than thrown on.
        s += "</summary><pre>" + escape(e.dump(2, ' ', false, Json::error_handler_t::replace)) +
             "</pre><p class=\"small\"><a href=\"#cause-" + escape(cause) +
             "\">What it means and the fix</a></p></details>";
    }
    return s + "</section>";
}

}  // namespace rdpbridge::review
