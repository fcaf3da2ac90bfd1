// The page around the sections: head (inline CSS, a Content-Security-Policy that lets nothing
// load from anywhere), header, navigation and the script. Everything inline, so the page works
// offline, from a file, and behind an admin endpoint that serves nothing else.
#include <string_view>

#include "proxy/review/markup.hpp"
#include "proxy/review/render.hpp"
#include "proxy/review/sections.hpp"
#include "rdp/crypto.hpp"

namespace rdpbridge::review {

namespace {

// System fonts only; colours through variables so a dark theme is a second palette; tables
// scroll sideways on a narrow screen instead of squeezing their columns, their first column
// staying in view. On a phone a backend's last failure drops its explanation and fix, which
// would make every row a screen tall: its cause links to them under #causes.
constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--fg:#1d232b;--muted:#5b6573;--bg:#fff;--panel:#f3f5f8;--line:#d9dee5;--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;--never:#6e7781;--link:#0b5cad}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ee;--muted:#9aa4b2;--bg:#14181d;--panel:#1c2229;--line:#2e3640;--ok:#4ac26b;--bad:#ff7b72;--warn:#d29922;--never:#8b949e;--link:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:1440px;margin:0 auto;padding:0 16px}
header{padding-top:16px}
h1{font-size:1.4em;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:1.15em;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:1em;margin:16px 0 6px}
a{color:var(--link)}
nav{margin:8px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px}
.meta{color:var(--muted);margin:4px 0}
.small{font-size:.86em;color:var(--muted)}
td.failure{min-width:16em;max-width:34em}
td.failure .small{overflow-wrap:anywhere}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92em}
table.counts{width:auto;min-width:50%}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
thead th{background:var(--panel)}
tbody th{font-weight:600;overflow-wrap:break-word}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.failure{min-width:17em;max-width:32em}
td.failure .why{font-size:.92em}
td.security{min-width:10em;overflow-wrap:break-word}
td.channels{min-width:12em;max-width:28em;overflow-wrap:anywhere}
.leg{display:inline-block;min-width:3.4em;font-size:.82em;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.state{font-weight:600;white-space:nowrap}
.state::before{content:"\25CF\00A0"}
.ok{color:var(--ok)}.failing{color:var(--bad)}.never{color:var(--never)}
.warn{color:var(--warn);font-weight:600}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.9em}
pre{background:var(--panel);padding:8px 10px;margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere}
time span{white-space:nowrap}
details{border-bottom:1px solid var(--line);padding:5px 0}
summary{cursor:pointer;overflow-wrap:anywhere}
figure{margin:8px 0 20px}
figcaption{margin-bottom:4px}
svg.chart{display:block;width:100%;min-width:540px;max-width:960px;height:auto}
svg.chart text{fill:var(--muted);font-size:11px}
svg.chart .empty{font-size:14px}
svg.chart .grid{stroke:var(--line);stroke-width:1}
svg.chart .axis{stroke:var(--muted);stroke-width:1}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.9em}
.swatch{display:inline-block;width:.85em;height:.85em;border-radius:2px;vertical-align:-1px;margin-right:5px}
.cause{border:1px solid var(--line);border-radius:6px;padding:4px 12px;margin:10px 0}
.cause:target{outline:2px solid var(--link)}
.cause dt{font-weight:600;margin-top:6px}
.cause dd{margin:0 0 0 1em}
.filters{display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;margin:8px 0}
select{font:inherit;max-width:16em}
footer{max-width:1440px;margin:32px auto 24px;padding:0 16px}
.scroll tr>:first-child{position:sticky;left:0;background:var(--bg)}
.scroll thead tr>:first-child{background:var(--panel)}
@media (max-width:640px){body{font-size:14px}th,td{padding:4px 6px}header,main,footer{padding:0 10px}
td.failure{min-width:13em}td.failure .why{display:none}}
)css";

// The recent failures' filters. With script off the controls stay hidden and every failure
// shows, so the page reads the same.
constexpr std::string_view kFilterScript = R"js(
(function () {
  'use strict';
  function byId(id) { return document.getElementById(id); }
  function filter() {
    var b = byId('filter-backend'), c = byId('filter-cause'), shown = 0, all = 0;
    if (!b || !c) return;
    document.querySelectorAll('#recent details[data-conn]').forEach(function (d) {
      var match = (!b.value || d.dataset.backend === b.value) &&
                  (!c.value || d.dataset.cause === c.value);
      d.hidden = !match;
      all++;
      if (match) shown++;
    });
    var n = byId('filter-count');
    if (n) n.textContent = shown + ' of ' + all + ' shown';
  }
  function wire() {
    var f = document.querySelector('#recent .filters');
    if (!f) return;
    f.hidden = false;
    f.querySelectorAll('select').forEach(function (s) { s.addEventListener('change', filter); });
    filter();
  }
  // A chart wider than a phone opens on its newest bars.
  document.querySelectorAll('figure .scroll').forEach(function (s) { s.scrollLeft = s.scrollWidth; });
  wire();
)js";

// Live pages: every 10 s the page fetches its own URL, parses it and swaps each section's
// content, keeping what the reader did: the element at the top of the window stays where it
// was, open failures stay open, filters keep their choice, charts keep their sideways scroll. A
// failed fetch leaves the page as it was and says so.
constexpr std::string_view kRefreshScript = R"js(
  var SECTIONS = ['summary', 'backends', 'failures', 'causes', 'sessions', 'recent'];
  var KEYS = ['data-conn', 'data-backend', 'data-cause'];
  function keyOf(e) {
    if (e.id) return '#' + CSS.escape(e.id);
    for (var i = 0; i < KEYS.length; i++)
      if (e.hasAttribute(KEYS[i]))
        return 'main ' + e.tagName.toLowerCase() + '[' + KEYS[i] + '="' +
               CSS.escape(e.getAttribute(KEYS[i])) + '"]';
    return null;
  }
  function anchor() {
    var list = document.querySelectorAll('main [id], main [data-conn], main [data-backend], main [data-cause]');
    for (var i = 0; i < list.length; i++) {
      var r = list[i].getBoundingClientRect();
      if (r.bottom > 0 && r.height > 0) return {key: keyOf(list[i]), top: r.top};
    }
    return null;
  }
  function status(text) { var s = byId('refresh-status'); if (s) s.textContent = text; }
  function refresh() {
    if (document.hidden) return;
    var active = document.activeElement;
    if (active && active.tagName === 'SELECT') return;
    fetch(window.location.href, {cache: 'no-store', credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, 'text/html');
        var open = {}, keep = {}, at = anchor(), x = window.scrollX, y = window.scrollY;
        document.querySelectorAll('details[open][data-conn]').forEach(function (d) {
          open[d.dataset.conn] = true;
        });
        document.querySelectorAll('#recent select').forEach(function (s) { keep[s.id] = s.value; });
        var charts = [].map.call(document.querySelectorAll('figure .scroll'), function (s) {
          return s.scrollLeft;
        });
        SECTIONS.forEach(function (id) {
          var from = next.getElementById(id), to = byId(id);
          if (from && to) to.innerHTML = from.innerHTML;
        });
        document.querySelectorAll('details[data-conn]').forEach(function (d) {
          if (open[d.dataset.conn]) d.open = true;
        });
        Object.keys(keep).forEach(function (id) {
          var s = byId(id);
          if (!s || !keep[id]) return;
          s.value = keep[id];
          if (s.value !== keep[id]) {  // no longer among the newest: keep the choice anyway
            var o = document.createElement('option');
            o.value = o.textContent = keep[id];
            s.appendChild(o);
            s.value = keep[id];
          }
        });
        document.querySelectorAll('figure .scroll').forEach(function (s, i) {
          if (i < charts.length) s.scrollLeft = charts[i];
        });
        wire();
        window.scrollTo(x, y);
        var e = at && at.key ? document.querySelector(at.key) : null;
        if (e) window.scrollBy(0, e.getBoundingClientRect().top - at.top);
        status('');
      })
      .catch(function (err) {
        status('Not refreshed (' + err.message + '): this is the state as of the time above.');
      });
  }
  setInterval(refresh, 10000);
)js";

constexpr std::string_view kScriptEnd = "})();\n";

std::string base64(const std::uint8_t* data, std::size_t size) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < size; i += 3) {
        const std::uint32_t n = std::uint32_t(data[i]) << 16 |
                                (i + 1 < size ? std::uint32_t(data[i + 1]) << 8 : 0) |
                                (i + 2 < size ? std::uint32_t(data[i + 2]) : 0);
        out += kAlphabet[n >> 18 & 63];
        out += kAlphabet[n >> 12 & 63];
        out += i + 1 < size ? kAlphabet[n >> 6 & 63] : '=';
        out += i + 2 < size ? kAlphabet[n & 63] : '=';
    }
    return out;
}

// Nothing may load from anywhere (a stray URL in a log line cannot become a request), and only
// this page's own script runs: it is allowed by its hash, so markup injected past the escaping
// still could not run script. Live pages may fetch themselves again. Should SHA-256 be
// unavailable, inline script is allowed instead (the escaping stands on its own).
std::string content_security_policy(std::string_view script, bool live) {
    const auto digest = rdp::crypto::sha256(
        {rdp::ByteView(reinterpret_cast<const std::uint8_t*>(script.data()), script.size())});
    const std::string script_src =
        digest ? "'sha256-" + base64(digest->data(), digest->size()) + "'" : "'unsafe-inline'";
    return "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src " +
           script_src + (live ? "; connect-src 'self'" : "") +
           "; base-uri 'none'; form-action 'none'";
}

std::string header(const Review& r) {
    std::string s =
        "<header><h1>" + escape(r.title) + "</h1><div id=\"summary\"><p class=\"meta\">";
    s += r.live ? "Live status" : "Report";
    s += ", generated " + time_element(r.generated) + " UTC";
    if (r.live && !r.access.empty()) s += " &middot; admin access: " + escape(r.access);
    if (r.live) s += " &middot; refreshed every 10 s";
    s += "</p><p class=\"meta\">" + std::to_string(r.backends.size()) +
         (r.backends.size() == 1 ? " backend" : " backends") + " &middot; " +
         std::to_string(r.failures_in_window) +
         (r.failures_in_window == 1 ? " failure" : " failures") + " in the window";
    if (r.live)
        s += " &middot; " + std::to_string(r.sessions.size()) +
             (r.sessions.size() == 1 ? " session" : " sessions") + " open";
    s += "</p></div>";
    if (r.live) s += "<p id=\"refresh-status\" class=\"meta warn\" role=\"status\"></p>";
    s += "<nav><a href=\"#backends\">Backends</a><a href=\"#failures\">Failures over time</a>"
         "<a href=\"#causes\">Causes</a>";
    if (r.live) s += "<a href=\"#sessions\">Sessions</a>";
    return s + "<a href=\"#recent\">Recent failures</a></nav></header>";
}

}  // namespace

std::string render_html(const Review& r) {
    std::string script(kFilterScript);
    if (r.live) script += kRefreshScript;
    script += kScriptEnd;

    std::string page =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"" +
        content_security_policy(script, r.live) +
        "\"><meta name=\"referrer\" content=\"no-referrer\"><title>" + escape(r.title) +
        "</title><style>" + std::string(kStyle) + "</style></head><body>" + header(r) + "<main>";
    page += backends_section(r);
    page += failures_section(r);
    page += causes_section(r);
    if (r.live) page += sessions_section(r);
    page += recent_section(r);
    page += "</main><footer class=\"meta\">Times are UTC. Written by rdpbridge";
    page += r.live ? "; the same data as JSON: <a href=\"api/review\">api/review</a>." : ".";
    page += "</footer><script>" + script + "</script></body></html>\n";
    return page;
}

}  // namespace rdpbridge::review
