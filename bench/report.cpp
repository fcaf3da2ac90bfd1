#include "bench/report.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <stdexcept>

namespace rdpbridge::bench {

namespace {

// Three significant digits, without scientific notation for the magnitudes we print.
std::string number(double v) {
    char buf[64];
    const double a = std::fabs(v);
    if (a == 0) return "0";
    if (a >= 1000)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else if (a >= 100)
        std::snprintf(buf, sizeof buf, "%.1f", v);
    else if (a >= 1)
        std::snprintf(buf, sizeof buf, "%.2f", v);
    else
        std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::string pad(const std::string& s, std::size_t width) {
    // Column widths count code points, so that "≥" and "≤" do not skew the table.
    std::size_t shown = 0;
    for (unsigned char c : s) shown += (c & 0xC0) != 0x80;
    return s + std::string(width > shown ? width - shown : 0, ' ');
}

}  // namespace

void Report::fail(const std::string& scenario, const std::string& why) {
    failures_.emplace_back(scenario, why);
}

void Report::print(std::ostream& out) const {
    std::vector<std::vector<std::string>> cells = {
        {"figure", "value", "bound", "ratio", "target", "ok"}};
    for (const auto& r : rows_) {
        cells.push_back({r.figure, number(r.value) + " " + r.unit,
                         number(r.bound) + " " + r.unit + " (" + r.bound_what + ")",
                         number(r.ratio * 100) + " %", r.target.empty() ? "-" : r.target,
                         r.met ? (*r.met ? "yes" : "NO") : "-"});
    }
    std::vector<std::size_t> width(cells[0].size(), 0);
    for (const auto& row : cells) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            std::size_t shown = 0;
            for (unsigned char c : row[i]) shown += (c & 0xC0) != 0x80;
            width[i] = std::max(width[i], shown);
        }
    }
    for (std::size_t r = 0; r < cells.size(); ++r) {
        std::string line;
        for (std::size_t i = 0; i < cells[r].size(); ++i)
            line += (i ? " | " : "") + pad(cells[r][i], width[i]);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << "\n";
        if (r == 0) {
            std::string rule;
            for (std::size_t i = 0; i < width.size(); ++i)
                rule += (i ? "-|-" : "") + std::string(width[i], '-');
            out << rule << "\n";
        }
    }
    for (const auto& n : notes_) out << "note: " << n << "\n";
    for (const auto& [scenario, why] : failures_)
        out << "FAILED " << scenario << ": " << why << "\n";
}

Json Report::json() const {
    Json rows = Json::array();
    for (const auto& r : rows_) {
        rows.push_back({{"id", r.id},
                        {"figure", r.figure},
                        {"value", r.value},
                        {"unit", r.unit},
                        {"bound", r.bound},
                        {"bound_what", r.bound_what},
                        {"ratio", r.ratio},
                        {"target", r.target},
                        {"met", r.met ? Json(*r.met) : Json(nullptr)},
                        {"details", r.details}});
    }
    Json failures = Json::array();
    for (const auto& [scenario, why] : failures_)
        failures.push_back({{"scenario", scenario}, {"error", why}});
    return {{"context", context_}, {"results", rows}, {"notes", notes_}, {"failures", failures}};
}

void Report::write(const std::filesystem::path& path) const {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path);
    out << std::setw(2) << json() << "\n";
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace rdpbridge::bench
