// Looking up the diagnosis vocabulary (rdp/diagnosis.hpp) by the names the log carries, so that
// `rdpbridge logs` can explain a cause even when the line lacks its text, and order stages the
// way a handshake runs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "rdp/diagnosis.hpp"

namespace rdpbridge::logs {

// The cause whose id is `id`, or nullptr (a log from a newer or older gateway).
const rdp::CauseInfo* find_cause(std::string_view id);

// A stage's position in the handshake; unknown stage names sort after every known one.
std::size_t stage_rank(std::string_view stage);

// What to tell an admin about a failure: the words its log line carried, else this build's
// vocabulary for the cause id (lines from other tools, or trimmed by a log shipper).
struct Words {
    std::string explanation;
    std::string fix;
};
Words failure_words(std::string_view cause, std::string_view logged_explanation,
                    std::string_view logged_hint);

}  // namespace rdpbridge::logs
