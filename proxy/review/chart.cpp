// The #failures section: for each Timeline a stacked bar chart drawn by the server as inline
// SVG (so it needs no script and no library, and prints), a legend linking each cause to its
// explanation, and a table of the counts that tests and readers can take numbers from.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "proxy/logs/time_text.hpp"
#include "proxy/review/markup.hpp"
#include "proxy/review/sections.hpp"

namespace rdpbridge::review {

namespace {

using logs::TimePoint;

// Distinguishable in light and dark themes and for most colour vision (Tableau 10); causes past
// the palette share the last, grey, and are summed in the legend as "other causes".
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f"};
constexpr std::size_t kColours = std::size(kPalette);
constexpr const char* kOther = "#a0a4a8";

// The chart's geometry in SVG units; it scales to the page's width (and scrolls sideways on
// a phone rather than shrinking its labels away).
constexpr double kWidth = 720, kHeight = 230;
constexpr double kLeft = 44, kRight = 10, kTop = 12, kBottom = 40;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;

// A cause's colour: by its place in Review::causes (most failures first), the same in every
// chart of the page.
std::size_t colour_index(const Review& r, const std::string& cause) {
    for (std::size_t i = 0; i < r.causes.size() && i < kColours; ++i)
        if (r.causes[i].cause == cause) return i;
    return kColours;
}

const char* colour(std::size_t index) {
    return index < kColours ? kPalette[index] : kOther;
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

const char* month_name(unsigned m) {
    static const char* const names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    return m >= 1 && m <= 12 ? names[m - 1] : "?";
}

// "Dec 5" at midnight, "09:00" otherwise: an axis label.
std::string tick_text(TimePoint t) {
    using namespace std::chrono;
    const auto day = floor<days>(t);
    const hh_mm_ss hms{floor<minutes>(t - day)};
    char buf[32];
    if (hms.hours().count() == 0 && hms.minutes().count() == 0) {
        const year_month_day ymd{day};
        std::snprintf(buf, sizeof buf, "%s %u", month_name(unsigned(ymd.month())),
                      unsigned(ymd.day()));
    } else {
        std::snprintf(buf, sizeof buf, "%02d:%02d", int(hms.hours().count()),
                      int(hms.minutes().count()));
    }
    return buf;
}

// "Dec 5 09:00–10:00": one bucket, for a bar's tooltip.
std::string bucket_text(TimePoint from, TimePoint to) {
    using namespace std::chrono;
    const year_month_day ymd{floor<days>(from)};
    const auto clock = [](TimePoint t) {
        const hh_mm_ss hms{floor<minutes>(t - floor<days>(t))};
        char buf[8];
        std::snprintf(buf, sizeof buf, "%02d:%02d", int(hms.hours().count()),
                      int(hms.minutes().count()));
        return std::string(buf);
    };
    return std::string(month_name(unsigned(ymd.month()))) + " " +
           std::to_string(unsigned(ymd.day())) + " " + clock(from) + "\u2013" + clock(to);
}

// "2026-12-05 10:00": windows start and end on whole hours.
std::string to_the_minute(const std::string& rfc3339) {
    return short_time(rfc3339).substr(0, 16);
}

std::string per_bucket(std::int64_t seconds) {
    if (seconds == 3600) return "per hour";
    if (seconds % 3600 == 0) return "per " + std::to_string(seconds / 3600) + " hours";
    return "per " + std::to_string(seconds / 60) + " minutes";
}

// The smallest 1-2-5 step that spans `max` in at most four steps.
std::uint64_t tick_step(std::uint64_t max) {
    for (std::uint64_t scale = 1;; scale *= 10)
        for (const std::uint64_t m : {1, 2, 5})
            if ((max + m * scale - 1) / (m * scale) <= 4) return m * scale;
}

std::string chart_svg(const Review& r, const Timeline& t, std::size_t index) {
    const std::size_t n = std::max<std::size_t>(t.buckets, 1);
    const auto start = logs::parse_timestamp(t.start);
    const std::chrono::seconds bucket{t.bucket_seconds};
    std::vector<std::uint64_t> totals(n, 0);
    for (const auto& s : t.by_cause)
        for (std::size_t i = 0; i < n && i < s.counts.size(); ++i) totals[i] += s.counts[i];
    const std::uint64_t max = *std::max_element(totals.begin(), totals.end());
    const std::uint64_t step = tick_step(std::max<std::uint64_t>(max, 1));
    const std::uint64_t top = std::max<std::uint64_t>(step * ((max + step - 1) / step), step);
    const auto y = [&](double v) { return kTop + kPlotH - v * kPlotH / double(top); };
    const double slot = kPlotW / double(n), bar = std::max(1.0, slot * 0.8);

    const std::string title_id = "chart-" + std::to_string(index);
    std::string s = "<svg class=\"chart\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) +
                    "\" role=\"img\" aria-labelledby=\"" + title_id + "\"><title id=\"" + title_id +
                    "\">Failures " + per_bucket(t.bucket_seconds) + " by cause, " +
                    escape(t.label) + "</title>";
    for (std::uint64_t v = 0; v <= top; v += step) {
        s += "<line class=\"grid\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft + kPlotW) +
             "\" y1=\"" + num(y(double(v))) + "\" y2=\"" + num(y(double(v))) + "\"/>";
        s += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(y(double(v)) + 4) +
             "\" text-anchor=\"end\">" + std::to_string(v) + "</text>";
    }
    for (std::size_t i = 0; i < n; ++i) {
        double base = 0;
        const double x = kLeft + double(i) * slot + (slot - bar) / 2;
        for (const auto& series : t.by_cause) {
            const std::uint64_t c = i < series.counts.size() ? series.counts[i] : 0;
            if (c == 0) continue;
            s += "<rect x=\"" + num(x) + "\" y=\"" + num(y(base + double(c))) + "\" width=\"" +
                 num(bar) + "\" height=\"" + num(y(base) - y(base + double(c))) + "\" fill=\"" +
                 colour(colour_index(r, series.cause)) + "\"><title>" + escape(series.cause) +
                 ": " + std::to_string(c);
            if (start)
                s += ", " + bucket_text(*start + bucket * long(i), *start + bucket * long(i + 1)) +
                     " UTC";
            s += "</title></rect>";
            base += double(c);
        }
    }
    // Time labels on bucket boundaries that fall on a whole stride (about eight labels), so
    // they land on round hours and on midnights.
    const std::size_t stride = (n + 7) / 8;
    const auto stride_ms = std::chrono::duration_cast<std::chrono::milliseconds>(bucket).count() *
                           static_cast<long long>(stride);
    for (std::size_t i = 0; start && stride_ms > 0 && i < n; ++i) {
        const TimePoint at = *start + bucket * long(i);
        if (at.time_since_epoch().count() % stride_ms != 0) continue;
        const double x = kLeft + double(i) * slot;
        s += "<line class=\"axis\" x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" +
             num(kTop + kPlotH) + "\" y2=\"" + num(kTop + kPlotH + 5) + "\"/><text x=\"" + num(x) +
             "\" y=\"" + num(kTop + kPlotH + 18) + "\" text-anchor=\"middle\">" + tick_text(at) +
             "</text>";
    }
    s += "<line class=\"axis\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft + kPlotW) + "\" y1=\"" +
         num(kTop + kPlotH) + "\" y2=\"" + num(kTop + kPlotH) + "\"/>";
    s += "<text x=\"" + num(kLeft + kPlotW) + "\" y=\"" + num(kHeight - 4) +
         "\" text-anchor=\"end\">UTC</text>";
    if (max == 0)
        s += "<text class=\"empty\" x=\"" + num(kLeft + kPlotW / 2) + "\" y=\"" +
             num(kTop + kPlotH / 2) + "\" text-anchor=\"middle\">No failures in this window</text>";
    return s + "</svg>";
}

std::string legend(const Review& r, const Timeline& t) {
    if (t.by_cause.empty()) return "";
    std::string s = "<ul class=\"legend\">";
    std::uint64_t other = 0, others = 0;
    for (const auto& series : t.by_cause) {
        const std::size_t c = colour_index(r, series.cause);
        if (c >= kColours) {
            other += series.total;
            ++others;
            continue;
        }
        s += "<li><span class=\"swatch\" style=\"background:" + std::string(colour(c)) +
             "\"></span>" + cause_link(series.cause) + " " + std::to_string(series.total) + "</li>";
    }
    if (others > 0)
        s += "<li><span class=\"swatch\" style=\"background:" + std::string(kOther) + "\"></span>" +
             std::to_string(others) + " other causes, " + std::to_string(other) +
             " (see the table)</li>";
    return s + "</ul>";
}

std::string caption(const Timeline& t) {
    std::uint64_t total = 0;
    for (const auto& s : t.by_cause) total += s.total;
    std::string s = "<figcaption><b>" + escape(t.label) + "</b>: " + std::to_string(total) +
                    (total == 1 ? " failure" : " failures") + ", " + per_bucket(t.bucket_seconds);
    if (const auto start = logs::parse_timestamp(t.start)) {
        const auto end = *start + std::chrono::seconds{t.bucket_seconds} * long(t.buckets);
        s += ", " + to_the_minute(t.start) + " to " + to_the_minute(logs::format_timestamp(end)) +
             " UTC";
    }
    return s + "</figcaption>";
}

// One row per cause of any timeline, in the colours' order, one column per timeline.
std::string counts_table(const Review& r) {
    std::vector<std::string> causes;
    for (const auto& c : r.causes) causes.push_back(c.cause);
    for (const auto& t : r.timelines)
        for (const auto& s : t.by_cause)
            if (std::find(causes.begin(), causes.end(), s.cause) == causes.end())
                causes.push_back(s.cause);
    std::string s =
        "<h3>Failures per cause</h3><div class=\"scroll\"><table class=\"counts\">"
        "<thead><tr><th>Cause</th>";
    for (const auto& t : r.timelines) s += "<th class=\"num\">" + escape(t.label) + "</th>";
    s += "</tr></thead><tbody>";
    for (const auto& cause : causes) {
        std::string cells;
        bool any = false;
        for (std::size_t i = 0; i < r.timelines.size(); ++i) {
            std::uint64_t n = 0;
            for (const auto& series : r.timelines[i].by_cause)
                if (series.cause == cause) n = series.total;
            any = any || n > 0;
            cells += "<td class=\"num\" data-timeline=\"" + std::to_string(i) + "\">" +
                     std::to_string(n) + "</td>";
        }
        if (!any) continue;  // named by the review, but older than every window
        s += "<tr data-cause=\"" + escape(cause) +
             "\"><td><span class=\"swatch\" style=\"background:" + colour(colour_index(r, cause)) +
             "\"></span>" + cause_link(cause) + "</td>" + cells + "</tr>";
    }
    return s + "</tbody></table></div>";
}

}  // namespace

std::string failures_section(const Review& r) {
    std::string s =
        "<section id=\"failures\"><h2>Failures over time</h2><p class=\"meta\"><span "
        "id=\"failures-in-window\">" +
        std::to_string(r.failures_in_window) + "</span> handshake " +
        (r.failures_in_window == 1 ? "failure" : "failures") + " in the window.</p>";
    if (r.timelines.empty()) return s + "<p class=\"meta\">No events, no timeline.</p></section>";
    for (std::size_t i = 0; i < r.timelines.size(); ++i) {
        const Timeline& t = r.timelines[i];
        s += "<figure data-timeline=\"" + std::to_string(i) + "\">" + caption(t) +
             "<div class=\"scroll\">" + chart_svg(r, t, i) + "</div>" + legend(r, t) + "</figure>";
    }
    return s + counts_table(r) + "</section>";
}

}  // namespace rdpbridge::review
