#include "proxy/logs/vocabulary.hpp"

namespace rdpbridge::logs {

// Linear scans: the tables have a few dozen rows and a report looks up a handful of groups.

const rdp::CauseInfo* find_cause(std::string_view id) {
    for (const auto& info : rdp::all_causes())
        if (info.id == id) return &info;
    return nullptr;
}

std::size_t stage_rank(std::string_view stage) {
    for (std::size_t i = 0; i < rdp::kStageCount; ++i)
        if (rdp::to_string(static_cast<rdp::Stage>(i)) == stage) return i;
    return rdp::kStageCount;
}

Words failure_words(std::string_view cause, std::string_view logged_explanation,
                    std::string_view logged_hint) {
    const auto* info = find_cause(cause);
    Words w{std::string(logged_explanation), std::string(logged_hint)};
    if (w.explanation.empty())
        w.explanation = info ? std::string(info->explanation)
                             : "Unknown cause (not in this version's vocabulary).";
    if (w.fix.empty())
        w.fix = info ? std::string(info->fix)
                     : "See docs/diagnosis.md of the gateway version that wrote the log.";
    return w;
}

review::CauseInfo cause_info(std::string_view id, const review::CauseInfo& logged) {
    if (const auto* info = find_cause(id))
        return {std::string(id), std::string(info->explanation), std::string(info->mstsc),
                std::string(info->freerdp), std::string(info->fix)};
    auto words = failure_words(id, logged.explanation, logged.fix);
    return {std::string(id), std::move(words.explanation), logged.mstsc, logged.freerdp,
            std::move(words.fix)};
}

std::vector<review::CauseInfo> causes_for(const std::vector<std::string>& ids) {
    std::vector<review::CauseInfo> causes;
    causes.reserve(ids.size());
    for (const auto& id : ids) causes.push_back(cause_info(id));
    return causes;
}

}  // namespace rdpbridge::logs
