#include "proxy/logs/report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <utility>

#include "proxy/logs/vocabulary.hpp"

namespace rdpbridge::logs {

namespace {

std::string ms_text(const std::optional<double>& ms) {
    if (!ms) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", *ms);
    return buf;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

void pad(std::ostream& out, const std::string& s, std::size_t width, bool right) {
    const std::size_t fill = width > s.size() ? width - s.size() : 0;
    if (right) out << std::string(fill, ' ');
    out << s;
    if (!right) out << std::string(fill, ' ');
}

void header(std::ostream& out, const Summary& s, const Scope& scope) {
    out << "Handshake log: " << plural(scope.files.size(), "file", "files") << ", "
        << plural(s.events, "event", "events");
    if (s.first_event)
        out << " from " << format_timestamp(*s.first_event) << " to "
            << format_timestamp(*s.last_event);
    out << "\n";
    if (scope.filter.since) out << "Since: " << format_timestamp(*scope.filter.since) << "\n";
    if (scope.filter.until) out << "Until: " << format_timestamp(*scope.filter.until) << "\n";
    if (scope.filter.backend) out << "Backend: " << *scope.filter.backend << "\n";
}

void backend_table(std::ostream& out, const Summary& s) {
    static const std::vector<std::string> titles{"backend",      "connections", "established",
                                                 "failed",       "unfinished",  "handshake p50",
                                                 "handshake p95"};
    std::vector<const BackendStats*> rows;
    for (const auto& b : s.backends) rows.push_back(&b);
    rows.push_back(&s.total);
    std::vector<std::vector<std::string>> cells;
    for (const auto* b : rows)
        cells.push_back({b->name, std::to_string(b->connections), std::to_string(b->established),
                         std::to_string(b->failed), std::to_string(b->unfinished),
                         ms_text(b->p50_ms), ms_text(b->p95_ms)});
    std::vector<std::size_t> width;
    for (const auto& t : titles) width.push_back(t.size());
    for (const auto& row : cells)
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());

    out << "\nConnections per backend:\n";
    auto print_row = [&](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out << "  ";
            pad(out, row[i], width[i], i > 0);  // names left, numbers right
        }
        out << "\n";
    };
    print_row(titles);
    for (const auto& row : cells) print_row(row);
}

void failure_groups(std::ostream& out, const Summary& s) {
    if (s.failures.empty()) {
        out << "\nNo handshake failures.\n";
        return;
    }
    out << "\nFailures by stage and cause, most frequent first ("
        << plural(s.total.failed, "failed connection", "failed connections") << "):\n";
    for (const auto& g : s.failures) {
        out << "\n  " << g.count << "x  " << g.stage << " / " << g.cause << "\n"
            << "      What happened: " << g.explanation << "\n"
            << "      Fix: " << g.fix << "\n"
            << "      First seen " << format_timestamp(g.first_seen) << ", last seen "
            << format_timestamp(g.last_seen) << "\n"
            << "      Examples:\n";
        for (const auto& ex : g.examples) {
            out << "        " << ex.conn << "  " << format_timestamp(ex.ts);
            if (!ex.client.empty()) out << "  from " << ex.client;
            if (!ex.detail.empty()) out << "  " << ex.detail;
            out << "\n";
        }
    }
}

// "cliprdr 12, rdpsnd 3": the most first, then by name.
std::string counts_text(const std::map<std::string, std::uint64_t>& counts) {
    std::vector<std::pair<std::string, std::uint64_t>> order(counts.begin(), counts.end());
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string s;
    for (const auto& [name, n] : order)
        s += (s.empty() ? "" : ", ") + name + " " + std::to_string(n);
    return s;
}

// "compressed data cannot be inspected", or "2x ..., 1x ..." for several reasons.
std::string withheld_text(const std::map<std::string, std::uint64_t>& withheld) {
    constexpr std::string_view kPrefix = "message withheld: ";  // what the count already says
    std::string s;
    for (const auto& [why, n] : withheld) {
        std::string_view reason = why;
        if (reason.starts_with(kPrefix)) reason.remove_prefix(kPrefix.size());
        s += s.empty() ? "" : ", ";
        if (withheld.size() > 1) s += std::to_string(n) + "x ";
        s += reason;
    }
    return s;
}

// Only when a policy kept something from a host: most gateways have none, and a policy that
// let everything through has nothing to say.
void channel_policies(std::ostream& out, const Summary& s) {
    std::vector<const BackendStats*> acted;
    std::size_t width = 0;
    for (const auto& b : s.backends) {
        if (!b.channels.acted()) continue;
        acted.push_back(&b);
        width = std::max(width, b.name.size());
    }
    if (acted.empty()) return;
    out << "\nChannel policy (what the gateway kept from the hosts; not failures):\n";
    for (const auto* b : acted) {
        out << "  ";
        pad(out, b->name + ":", width + 1, false);
        out << "  " << channel_policy_text(b->channels) << "\n";
        for (const auto& [policy, n] : b->channels.policies)
            out << "  " << std::string(width + 1, ' ') << "  policy \"" << policy
                << "\": " << plural(n, "session", "sessions") << "\n";
    }
}

}  // namespace

std::string channel_policy_text(const ChannelStats& c) {
    std::vector<std::string> parts;
    if (c.sessions_with_removed > 0)
        parts.push_back(plural(c.sessions_with_removed, "session", "sessions") +
                        " had channels removed (" + counts_text(c.removed) + ")");
    if (const auto n = c.devices_refused_total(); n > 0)
        parts.push_back(plural(n, "device", "devices") + " refused (" +
                        counts_text(c.devices_refused) + ")");
    if (const auto n = c.withheld_total(); n > 0)
        parts.push_back(plural(n, "message", "messages") + " withheld (" +
                        withheld_text(c.withheld) + ")");
    if (parts.empty()) return "";
    if (c.pdus_dropped > 0)
        parts.push_back(plural(c.pdus_dropped, "channel PDU", "channel PDUs") + " dropped");
    std::string text;
    for (const auto& p : parts) text += (text.empty() ? "" : "; ") + p;
    return text;
}

std::string unknown_backend_note(const Summary& s, const std::string& backend) {
    std::string note = "No event in these files names backend \"" + backend + "\". ";
    if (s.backends_in_files.empty()) {
        note += "None names any backend";
    } else {
        note += "Backends named in them: ";
        for (std::size_t i = 0; i < s.backends_in_files.size(); ++i)
            note += (i ? ", " : "") + s.backends_in_files[i];
    }
    return note + "; \"" + std::string(kNoBackend) + "\" selects the failures before routing.";
}

std::string human_report(const Summary& s, const Scope& scope) {
    std::ostringstream out;
    header(out, s, scope);
    if (s.backend_unknown) {
        out << "\n" << unknown_backend_note(s, *scope.filter.backend) << "\n";
    } else if (s.total.connections == 0) {
        out << "\nNo connections"
            << (scope.filter.since || scope.filter.until || scope.filter.backend
                    ? " match the filter.\n"
                    : " in these files.\n");
    } else {
        backend_table(out, s);
        failure_groups(out, s);
        channel_policies(out, s);
    }
    if (s.malformed > 0) {
        out << "\n" << plural(s.malformed, "malformed line", "malformed lines") << " skipped";
        if (s.first_malformed)
            out << " (first at " << s.first_malformed->file << ":" << s.first_malformed->line
                << ")";
        out << "\n";
    }
    return out.str();
}

std::string human_failure_line(const Event& e, const std::string& backend) {
    const auto words = failure_words(e.cause, e.explanation, e.hint);
    std::string s = format_timestamp(e.ts) + " [" + e.conn + "] handshake failed at " + e.stage +
                    ": " + e.cause + " (backend " + backend + ") — " + words.explanation;
    if (!e.detail.empty()) s += " (" + e.detail + ")";
    return s + " Fix: " + words.fix;
}

}  // namespace rdpbridge::logs
