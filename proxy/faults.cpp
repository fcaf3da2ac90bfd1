#include "proxy/faults.hpp"

#ifdef RDPBRIDGE_FAULTS

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace rdpbridge::proxy {

namespace {

struct Plan {
    rdp::Stage stage;
    uint64_t connection;  // 0: every connection
};

std::optional<Plan> plan;

uint64_t ordinal_of(std::string_view connection) {
    const auto dash = connection.rfind('-');
    uint64_t n = 0;
    if (dash != std::string_view::npos)
        std::from_chars(connection.data() + dash + 1, connection.data() + connection.size(), n);
    return n;
}

}  // namespace

std::optional<std::string> load_fault_plan() {
    const char* value = std::getenv("RDPBRIDGE_FAULT");
    if (value == nullptr || *value == '\0') return std::nullopt;
    const std::string_view text(value);
    const auto colon = text.rfind(':');
    const std::string_view name = text.substr(0, colon);
    uint64_t n = 0;
    const char* end = text.data() + text.size();
    if (colon == std::string_view::npos ||
        std::from_chars(text.data() + colon + 1, end, n).ptr != end || colon + 1 == text.size()) {
        throw std::runtime_error("RDPBRIDGE_FAULT=" + std::string(text) +
                                 ": expected STAGE:N, e.g. front_tls:1 (N = 0: every connection)");
    }
    for (std::size_t i = 0; i < rdp::kStageCount; ++i) {
        const auto stage = rdp::Stage(i);
        if (rdp::to_string(stage) != name) continue;
        plan = Plan{stage, n};
        return "fault injection armed: an exception at stage " + std::string(name) + " on " +
               (n == 0 ? std::string("every connection") : "connection " + std::to_string(n));
    }
    throw std::runtime_error("RDPBRIDGE_FAULT=" + std::string(text) + ": no stage named " +
                             std::string(name));
}

void fault_point(rdp::Stage stage, std::string_view connection) {
    if (!plan || plan->stage != stage) return;
    if (plan->connection != 0 && plan->connection != ordinal_of(connection)) return;
    throw std::runtime_error("injected fault at stage " + std::string(rdp::to_string(stage)) +
                             " (RDPBRIDGE_FAULT)");
}

}  // namespace rdpbridge::proxy

#endif
