// The review page and its JSON twins (proxy/review/render.hpp): every section where the script
// and readers look for it, numbers readable from the DOM, nothing from a log or a peer that can
// become markup, and nothing that loads from anywhere.
#include <gtest/gtest.h>

#include <regex>

#include "proxy/review/render.hpp"
#include "rdp/crypto.hpp"

using namespace rdpbridge;
using namespace rdpbridge::review;

namespace {

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

Timeline timeline(std::string label, std::string start, std::int64_t seconds, std::size_t buckets) {
    Timeline t;
    t.label = std::move(label);
    t.start = std::move(start);
    t.bucket_seconds = seconds;
    t.buckets = buckets;
    return t;
}

void add_series(Timeline& t, std::string cause, std::vector<std::uint64_t> counts) {
    counts.resize(t.buckets, 0);
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    t.by_cause.push_back({std::move(cause), std::move(counts), total});
}

Json failure_event(const std::string& conn, const std::string& backend, const std::string& cause) {
    Json e{{"ts", "2026-12-05T11:20:00.000Z"}, {"conn", conn},   {"event", "handshake_failed"},
           {"stage", "backend_negotiation"},   {"cause", cause}, {"detail", "reset"}};
    if (!backend.empty()) e["backend"] = backend;
    return e;
}

Review sample(bool live) {
    Review r;
    r.title = "rdpbridge on gw1";
    r.generated = "2026-12-05T11:30:00.000Z";
    r.access = live ? "bearer token" : "";
    r.live = live;
    BackendRow win7;
    win7.name = "win7";
    win7.address = "10.0.0.7:3389";
    win7.state = "failing";
    win7.last_success = "2026-12-05T10:01:00.000Z";
    win7.last_failure = LastFailure{"2026-12-05T11:20:00.000Z",
                                    "backend_negotiation",
                                    "host_reset",
                                    "The host reset the connection.",
                                    "Check the listener.",
                                    "reset after 0 bytes",
                                    "c2"};
    win7.front_security = "TLS 1.3 TLS_AES_256_GCM_SHA384";
    win7.back_security = "TLS 1.0 AES128-SHA";
    win7.cert_days_left = 12;
    win7.identity = "learned";
    win7.sessions_now = 2;
    win7.established = 40;
    win7.failed = 3;
    BackendRow xp;
    xp.name = "xp";
    xp.state = "ok";
    xp.last_success = "2026-12-05T11:00:00.000Z";
    xp.back_security = "RDP 128-bit RC4";
    xp.cert_days_left = 200;
    xp.established = 7;
    BackendRow fresh;
    fresh.name = "fresh";
    fresh.state = "never reached";
    r.backends = {win7, xp, fresh};

    Timeline day = timeline("last 24 h", "2026-12-04T12:00:00.000Z", 3600, 24);
    add_series(day, "host_reset", std::vector<std::uint64_t>(24, 0));
    day.by_cause[0].counts[23] = 3;
    day.by_cause[0].total = 3;
    add_series(day, "client_spoke_http", {1});
    Timeline week = timeline("last 7 days", "2026-11-28T12:00:00.000Z", 21600, 28);
    add_series(week, "host_reset", {0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3});
    add_series(week, "client_spoke_http", {1});
    r.timelines = {day, week};
    r.causes = {{"host_reset", "The host reset the connection.", "0x904", "ERRCONNECT_X",
                 "Check the listener."},
                {"client_spoke_http", "HTTP, not RDP.", "n/a", "n/a", "Point browsers away."}};
    if (live)
        r.sessions = {{"c9", "CORP\\alice", "192.0.2.7:50000", "win7",
                       "TLS 1.3 TLS_AES_256_GCM_SHA384", "TLS 1.0 AES128-SHA",
                       "2026-12-05T11:00:00.000Z", 1536, 10 * 1024 * 1024}};
    r.recent_failures = {failure_event("c2", "win7", "host_reset"),
                         failure_event("c1", "", "client_spoke_http")};
    r.failures_in_window = 8;
    return r;
}

// The opening tag of the element carrying `attribute`, e.g. `data-backend="win7"`.
std::string tag_with(const std::string& html, const std::string& attribute) {
    const auto at = html.find(attribute);
    if (at == std::string::npos) return "";
    const auto open = html.rfind('<', at);
    return html.substr(open, html.find('>', at) - open + 1);
}

// The content of the element that begins at the first `start` (up to its closing `end`).
std::string element(const std::string& html, const std::string& start, const std::string& end) {
    const auto at = html.find(start);
    if (at == std::string::npos) return "";
    return html.substr(at, html.find(end, at) + end.size() - at);
}

std::string base64(const std::uint8_t* p, std::size_t n) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t bits = 0;
    int have = 0;
    for (std::size_t i = 0; i < n; ++i) {
        bits = bits << 8 | p[i];
        for (have += 8; have >= 6; have -= 6) out += a[bits >> (have - 6) & 63];
    }
    if (have > 0) out += a[bits << (6 - have) & 63];
    while (out.size() % 4) out += '=';
    return out;
}

}  // namespace

TEST(ReviewPage, HasEverySectionWithItsId) {
    const std::string live = render_html(sample(true));
    for (const char* id : {"summary", "backends", "failures", "causes", "sessions", "recent"})
        EXPECT_TRUE(has(live, "id=\"" + std::string(id) + "\"")) << id;
    const std::string report = render_html(sample(false));
    for (const char* id : {"summary", "backends", "failures", "causes", "recent"})
        EXPECT_TRUE(has(report, "id=\"" + std::string(id) + "\"")) << id;
    EXPECT_FALSE(has(report, "id=\"sessions\""));
    EXPECT_TRUE(report.starts_with("<!DOCTYPE html>"));
    EXPECT_TRUE(has(report, "<meta name=\"viewport\" content=\"width=device-width"));
    EXPECT_TRUE(has(report, "<title>rdpbridge on gw1</title>"));
}

TEST(ReviewPage, HeaderSaysWhenAndHowItWasReached) {
    const std::string live = render_html(sample(true));
    EXPECT_TRUE(has(live, "admin access: bearer token"));
    EXPECT_TRUE(has(live,
                    "<time datetime=\"2026-12-05T11:30:00.000Z\"><span>2026-12-05</span> "
                    "<span>11:30:00</span></time>"));
    EXPECT_FALSE(has(render_html(sample(false)), "admin access"));
}

TEST(ReviewPage, BackendRowsCarryStateCertificateAndCounts) {
    const std::string html = render_html(sample(true));
    const std::string win7 = element(html, "<tr data-backend=\"win7\"", "</tr>");
    ASSERT_FALSE(win7.empty());
    EXPECT_TRUE(has(win7, "<span class=\"state failing\">failing</span>"));
    EXPECT_TRUE(has(win7, "10.0.0.7:3389"));
    EXPECT_TRUE(has(win7, "<a href=\"#cause-host_reset\">"));
    EXPECT_TRUE(has(win7, "The host reset the connection."));
    EXPECT_TRUE(has(win7, "Check the listener."));
    // Cipher suites may break after their underscores.
    EXPECT_TRUE(has(win7,
                    "<span class=\"leg\">client</span> TLS 1.3 "
                    "TLS_<wbr>AES_<wbr>256_<wbr>GCM_<wbr>SHA384"));
    EXPECT_TRUE(has(win7, "<span class=\"leg\">host</span> TLS 1.0 AES128-SHA"));
    EXPECT_TRUE(has(win7, "<td class=\"warn\" data-days=\"12\">12 days</td>"));  // under 30
    EXPECT_TRUE(has(win7, "<td class=\"num\">2</td><td class=\"num\">40</td><td class=\"num\">3"));
    const std::string xp = element(html, "<tr data-backend=\"xp\"", "</tr>");
    EXPECT_TRUE(has(xp, "<span class=\"state ok\">ok</span>"));
    EXPECT_TRUE(has(xp, "<td data-days=\"200\">200 days</td>"));
    EXPECT_TRUE(has(element(html, "<tr data-backend=\"fresh\"", "</tr>"),
                    "<span class=\"state never\">never reached</span>"));
    // Reports have no live sessions, so no column for them.
    EXPECT_FALSE(has(render_html(sample(false)), "Sessions now"));
}

TEST(ReviewPage, AChannelPolicyColumnOnlyWhereAPolicyWasAtWork) {
    EXPECT_FALSE(has(render_html(sample(false)), "Channel policy"));
    Review r = sample(false);
    r.backends[0].channel_policies = {"channels deny cliprdr; devices deny drive"};
    r.backends[0].channels_kept =
        "12 sessions had channels removed (cliprdr 12); 4 devices "
        "refused (drive 4)";
    const std::string html = render_html(r);
    EXPECT_TRUE(has(html, "<th>Identity</th><th>Channel policy</th></tr>"));
    EXPECT_TRUE(has(element(html, "<tr data-backend=\"win7\"", "</tr>"),
                    "<td class=\"channels\"><div>channels deny cliprdr; devices deny drive</div>"
                    "<div class=\"small\">12 sessions had channels removed (cliprdr 12); 4 "
                    "devices refused (drive 4)</div></td></tr>"));
    // The other rows keep their columns in line.
    EXPECT_TRUE(has(element(html, "<tr data-backend=\"xp\"", "</tr>"),
                    "200 days</td><td>&mdash;</td><td>&mdash;</td></tr>"));
    const Json b = backends_json(r)["backends"].at(0);
    EXPECT_EQ(b["channel_policies"], Json::array({"channels deny cliprdr; devices deny drive"}));
    EXPECT_EQ(b["channels_kept"], r.backends[0].channels_kept);

    const std::string evil = "<script>alert(1)</script>";
    r.backends[1].channel_policies = {evil};
    r.backends[1].channels_kept = evil;
    EXPECT_FALSE(has(render_html(r), evil));
}

TEST(ReviewPage, CertificatesExpiredOrExpiringSaySo) {
    Review r = sample(false);
    r.backends[0].cert_days_left = -3;
    r.backends[1].cert_days_left = 0;
    const std::string html = render_html(r);
    EXPECT_TRUE(has(html, "<td class=\"warn\" data-days=\"-3\">expired 3 days ago</td>"));
    EXPECT_TRUE(has(html, "<td class=\"warn\" data-days=\"0\">expires today</td>"));
}

TEST(ReviewPage, FailuresHaveAChartPerTimelineAndCountsToReadBack) {
    const std::string html = render_html(sample(false));
    const std::string failures = element(html, "<section id=\"failures\"", "</section>");
    EXPECT_EQ(count(failures, "<svg"), 2u);
    // One bar segment per (bucket, cause) with failures: 2 in the day, 3 in the week.
    EXPECT_EQ(count(failures, "<rect"), 5u);
    EXPECT_TRUE(has(failures, "<title>host_reset: 3, Dec 5 11:00\u201312:00 UTC</title>"));
    EXPECT_TRUE(has(failures, ">Dec 5</text>"));  // midnight labelled with its date
    EXPECT_TRUE(has(failures, ">15:00</text>"));
    // The legend links each cause to its explanation.
    EXPECT_TRUE(has(failures, "<ul class=\"legend\"><li><span class=\"swatch\""));
    EXPECT_GE(count(failures, "href=\"#cause-host_reset\""), 3u);
    const std::string row = element(failures, "<tr data-cause=\"host_reset\"", "</tr>");
    EXPECT_TRUE(has(row, "<td class=\"num\" data-timeline=\"0\">3</td>"));
    EXPECT_TRUE(has(row, "<td class=\"num\" data-timeline=\"1\">7</td>"));
    EXPECT_TRUE(has(failures, "<span id=\"failures-in-window\">8</span>"));
}

TEST(ReviewPage, ManyCausesShareTheOtherColourInTheLegend) {
    Review r = sample(false);
    r.causes.clear();
    r.timelines.resize(1);
    r.timelines[0].by_cause.clear();
    for (int i = 0; i < 12; ++i) {
        const std::string id = "cause_" + std::to_string(i);
        r.causes.push_back({id, "", "", "", ""});
        add_series(r.timelines[0], id, {std::uint64_t(20 - i)});
    }
    const std::string html = render_html(r);
    EXPECT_TRUE(has(html, "3 other causes, 30 (see the table)"));
    EXPECT_TRUE(has(html, "<tr data-cause=\"cause_11\">"));
}

TEST(ReviewPage, AnEmptyReviewStillHasEverySection) {
    Review r;
    r.title = "Handshake report: empty.jsonl";
    const std::string html = render_html(r);
    for (const char* id : {"backends", "failures", "causes", "recent"})
        EXPECT_TRUE(has(html, "<section id=\"" + std::string(id) + "\"")) << id;
    EXPECT_TRUE(has(html, "No failure."));
    EXPECT_TRUE(has(html, "No events, no timeline."));
    Review empty_chart = sample(false);
    for (auto& t : empty_chart.timelines) t.by_cause.clear();
    EXPECT_TRUE(has(render_html(empty_chart), "No failures in this window"));
}

TEST(ReviewPage, CausesAreExplainedUnderTheirAnchors) {
    const std::string html = render_html(sample(false));
    const std::string c =
        element(html, "<article class=\"cause\" id=\"cause-host_reset\"", "</article>");
    ASSERT_FALSE(c.empty());
    EXPECT_TRUE(has(c, "<dt>mstsc shows</dt><dd>0x904</dd>"));
    EXPECT_TRUE(has(c, "<dt>FreeRDP shows</dt><dd>ERRCONNECT_X</dd>"));
    EXPECT_TRUE(has(c, "<dt>Fix</dt><dd>Check the listener.</dd>"));
    EXPECT_TRUE(has(html, "id=\"cause-client_spoke_http\""));
}

TEST(ReviewPage, SessionsShowWhoWhereAndHowMuch) {
    const std::string html = render_html(sample(true));
    const std::string row = element(html, "<tr data-conn=\"c9\"", "</tr>");
    EXPECT_TRUE(has(row, "CORP\\alice"));
    EXPECT_TRUE(has(row, "192.0.2.7:50000"));
    EXPECT_TRUE(has(row, "<td class=\"num\" data-bytes=\"1536\">1.5 KiB</td>"));
    EXPECT_TRUE(has(row, "<td class=\"num\" data-bytes=\"10485760\">10.0 MiB</td>"));
}

TEST(ReviewPage, RecentFailuresAreWholeNewestFirstWithFilters) {
    const std::string html = render_html(sample(false));
    const std::string recent = element(html, "<section id=\"recent\"", "</section>");
    const auto c2 = recent.find(
        "<details data-conn=\"c2\" data-backend=\"win7\" "
        "data-cause=\"host_reset\">");
    const auto c1 = recent.find(
        "<details data-conn=\"c1\" data-backend=\"(none)\" "
        "data-cause=\"client_spoke_http\">");
    ASSERT_NE(c2, std::string::npos);
    ASSERT_NE(c1, std::string::npos);
    EXPECT_LT(c2, c1);
    EXPECT_TRUE(has(recent, "&quot;event&quot;: &quot;handshake_failed&quot;"));  // pretty JSON
    // Filters exist, hidden until the script shows them: without script, all failures show.
    EXPECT_TRUE(has(recent, "<div class=\"filters\" hidden>"));
    EXPECT_TRUE(has(recent, "<option value=\"win7\">win7</option>"));
    EXPECT_TRUE(has(recent, "<option value=\"client_spoke_http\">client_spoke_http</option>"));
}

TEST(ReviewPage, OnlyLivePagesRefresh) {
    const std::string live = render_html(sample(true));
    EXPECT_TRUE(has(live, "fetch(window.location.href"));
    EXPECT_TRUE(has(live, "setInterval(refresh, 10000)"));
    EXPECT_TRUE(has(live, "DOMParser"));
    const std::string report = render_html(sample(false));
    EXPECT_FALSE(has(report, "fetch("));
    EXPECT_FALSE(has(report, "setInterval"));
    EXPECT_FALSE(has(report, "connect-src"));
}

TEST(ReviewPage, TextFromLogsAndPeersIsInert) {
    const std::string evil = "<script>alert(\"x\")</script>'\" onmouseover='y'";
    Review r = sample(true);
    r.title = evil;
    r.access = evil;
    r.backends[0].name = evil;
    r.backends[0].address = evil;
    r.backends[0].identity = evil;
    r.backends[0].last_failure->detail = evil;
    r.backends[0].last_failure->cause = evil;
    r.causes[0].cause = evil;
    r.causes[0].fix = evil;
    r.sessions[0].user = evil;
    r.sessions[0].conn = evil;
    r.timelines[0].label = evil;
    r.timelines[0].by_cause[0].cause = evil;
    r.recent_failures[0]["cause"] = evil;
    r.recent_failures[0]["backend"] = evil;
    r.recent_failures[0]["conn"] = evil;
    r.recent_failures[0]["detail"] = evil;
    const std::string html = render_html(r);
    EXPECT_FALSE(has(html, "<script>alert"));
    EXPECT_FALSE(has(html, "alert(\"x\")"));
    EXPECT_FALSE(has(html, "onmouseover='y'"));
    EXPECT_EQ(count(html, "<script"), 1u);  // the page's own
    EXPECT_TRUE(has(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&quot;"));
    EXPECT_TRUE(has(html, "data-backend=\"&lt;script&gt;alert(&quot;x&quot;)"));
    EXPECT_TRUE(has(html, "href=\"#cause-&lt;script&gt;"));
    EXPECT_TRUE(has(html, "<option value=\"&lt;script&gt;"));
}

TEST(ReviewPage, LoadsNothingFromAnywhere) {
    for (const bool live : {false, true}) {
        const std::string html = render_html(sample(live));
        EXPECT_FALSE(has(html, "http://"));
        EXPECT_FALSE(has(html, "https://"));
        EXPECT_FALSE(has(html, "@import"));
        EXPECT_FALSE(has(html, "url("));
        EXPECT_FALSE(has(html, " src="));
        EXPECT_FALSE(has(html, "<link"));
        // Every link stays inside the page, or (live) is the JSON twin beside it.
        const std::regex href("href=\"([^\"]*)\"");
        for (auto it = std::sregex_iterator(html.begin(), html.end(), href);
             it != std::sregex_iterator(); ++it) {
            const std::string target = (*it)[1];
            EXPECT_TRUE(target.starts_with("#") || target == "api/review") << target;
        }
        const std::string csp = tag_with(html, "Content-Security-Policy");
        EXPECT_TRUE(has(csp, "default-src 'none'")) << csp;
    }
}

TEST(ReviewPage, ItsScriptIsAllowedByItsOwnPolicy) {
    for (const bool live : {false, true}) {
        const std::string html = render_html(sample(live));
        const auto open = html.find("<script>") + 8;
        const std::string script = html.substr(open, html.find("</script>") - open);
        const auto digest = rdp::crypto::sha256(
            {rdp::ByteView(reinterpret_cast<const std::uint8_t*>(script.data()), script.size())});
        ASSERT_TRUE(digest);
        EXPECT_TRUE(has(tag_with(html, "Content-Security-Policy"),
                        "script-src 'sha256-" + base64(digest->data(), digest->size()) + "'"));
    }
}

TEST(ReviewJson, TwinsUseTheModelsFieldNames) {
    const Review r = sample(true);
    const Json j = to_json(r);
    EXPECT_EQ(j["title"], "rdpbridge on gw1");
    EXPECT_EQ(j["access"], "bearer token");
    EXPECT_EQ(j["live"], true);
    EXPECT_EQ(j["failures_in_window"], 8);
    const Json& b = j["backends"].at(0);
    EXPECT_EQ(b["name"], "win7");
    EXPECT_EQ(b["state"], "failing");
    EXPECT_EQ(b["cert_days_left"], 12);
    EXPECT_EQ(b["last_failure"]["cause"], "host_reset");
    EXPECT_EQ(b["last_failure"]["conn"], "c2");
    EXPECT_EQ(b["sessions_now"], 2);
    EXPECT_TRUE(j["backends"].at(2)["last_failure"].is_null());
    EXPECT_TRUE(j["backends"].at(2)["cert_days_left"].is_null());
    const Json& t = j["timelines"].at(0);
    EXPECT_EQ(t["label"], "last 24 h");
    EXPECT_EQ(t["bucket_seconds"], 3600);
    EXPECT_EQ(t["buckets"], 24);
    EXPECT_EQ(t["by_cause"].at(0)["counts"].size(), 24u);
    EXPECT_EQ(t["by_cause"].at(0)["total"], 3);
    EXPECT_EQ(j["causes"].at(0)["mstsc"], "0x904");
    EXPECT_EQ(j["sessions"].at(0)["user"], "CORP\\alice");
    EXPECT_EQ(j["sessions"].at(0)["bytes_host_to_client"], 10 * 1024 * 1024);
    EXPECT_EQ(j["recent_failures"].at(0)["conn"], "c2");

    // Each section alone is the same as its part of the whole.
    for (const Json& part :
         {backends_json(r), failures_json(r), causes_json(r), sessions_json(r), recent_json(r)})
        for (const auto& [key, value] : part.items()) EXPECT_EQ(j.at(key), value) << key;
    EXPECT_EQ(failures_json(r).size(), 2u);
    const std::vector<std::string> keys{
        "title",     "generated",          "access", "live",     "backends",
        "timelines", "failures_in_window", "causes", "sessions", "recent_failures"};
    for (const auto& k : keys) EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j.size(), keys.size());
}
