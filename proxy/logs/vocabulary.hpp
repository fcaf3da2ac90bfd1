// Looking up the diagnosis vocabulary (rdp/diagnosis.hpp) by the names the log carries, so that
// `rdpbridge logs` can explain a cause even when the line lacks its text, and order stages the
// way a handshake runs; and filling the review's causes (proxy/review/review.hpp) the same way.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/review/review.hpp"
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

// A cause as the review's #causes section explains it: this build's vocabulary; for an id it
// does not know (a log from an older or newer gateway), the words `logged` carries (from a
// handshake_failed line: explanation, client_sees, hint), with failure_words' notes for any
// that are missing. `logged.cause` is ignored.
review::CauseInfo cause_info(std::string_view id, const review::CauseInfo& logged = {});
// cause_info for each id, in the given order: how the status page fills Review::causes.
std::vector<review::CauseInfo> causes_for(const std::vector<std::string>& ids);

}  // namespace rdpbridge::logs
