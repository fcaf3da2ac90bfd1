// Rendering a Summary for people (report.cpp) and for machines (json_report.cpp; schema
// rdpbridge.logs/1, documented in docs/logs.md), and one failure line each for --follow.
#pragma once

#include <string>
#include <vector>

#include "proxy/logs/event.hpp"
#include "proxy/logs/summary.hpp"

namespace rdpbridge::logs {

// What the summary was computed over, echoed so a saved report explains itself.
struct Scope {
    std::vector<std::string> files;
    Filter filter;
};

std::string human_report(const Summary& summary, const Scope& scope);
// Indented for reading; on one line with --follow, so the whole output is JSON Lines.
std::string json_report(const Summary& summary, const Scope& scope, bool one_line = false);

// What a backend's channel policy did, on one line: "12 sessions had channels removed (cliprdr
// 12, rdpsnd 3); 4 devices refused (drive 4); 1 message withheld (compressed data cannot be
// inspected)"; "" when it did nothing (ChannelStats::acted). The text report and the page say it
// alike.
std::string channel_policy_text(const ChannelStats& channels);

// When --backend names a backend no event names: says so and lists those that are named.
std::string unknown_backend_note(const Summary& summary, const std::string& backend);

// A failure as it happens (--follow), `backend` as attributed (kNoBackend before routing).
std::string human_failure_line(const Event& failure, const std::string& backend);
std::string json_failure_line(const Event& failure, const std::string& backend);

}  // namespace rdpbridge::logs
