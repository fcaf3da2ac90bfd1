// The two renderings of Findings: an aligned report for people and one JSON document whose
// schema docs/probe.md documents (and tests/unit/probe_report_test.cpp pins).
#pragma once

#include <string>

#include "proxy/probe/findings.hpp"

namespace rdpbridge::probe {

inline constexpr const char* kJsonSchema = "rdpbridge.probe/1";

std::string human_report(const Findings& f);
std::string json_report(const Findings& f);

}  // namespace rdpbridge::probe
