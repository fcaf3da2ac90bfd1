// The bench's output: one row per figure with the bound it is compared with (measured in the
// same run, or the fixed limit) and the ratio, printed as a table and written as JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace rdpbridge::bench {

using Json = nlohmann::json;

struct Row {
    std::string id;      // stable key for scripts, e.g. "relay.sessions_1"
    std::string figure;  // what was measured, in words
    double value = 0;
    std::string unit;
    double bound = 0;
    std::string bound_what;  // what the bound is, e.g. "EVP crypto, 1 core"
    double ratio = 0;        // value / bound
    std::string target;      // e.g. ">= 70 %"; empty when the figure has none
    std::optional<bool> met;
    Json details = Json::object();
};

class Report {
  public:
    void add(Row row) { rows_.push_back(std::move(row)); }
    // A scenario that could not be measured: an instrument failure, not a missed target.
    void fail(const std::string& scenario, const std::string& why);
    void set_context(Json context) { context_ = std::move(context); }
    // A line printed under the table (and kept in the JSON's "notes"), once however often added:
    // what a figure means where its row cannot say it.
    void note(const std::string& text) {
        if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(text);
    }

    bool instrument_ok() const { return failures_.empty(); }
    // A smoke run's figures are too short to judge: keep them, drop the verdicts.
    void drop_verdicts() {
        for (auto& r : rows_) r.met.reset();
    }
    void print(std::ostream& out) const;
    Json json() const;
    void write(const std::filesystem::path& path) const;

  private:
    Json context_ = Json::object();
    std::vector<Row> rows_;
    std::vector<std::string> notes_;
    std::vector<std::pair<std::string, std::string>> failures_;
};

}  // namespace rdpbridge::bench
