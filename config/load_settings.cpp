// The gateway-wide tables: [logging], [limits], [shield], [service] and [admin].
#include "config/load_toml.hpp"

#include <string>

namespace rdpbridge::config::internal {
namespace {

// More loops than this buys nothing on any machine rdpbridge targets; a typo (10000) would
// otherwise start that many threads.
constexpr std::int64_t kMaxWorkers = 256;
constexpr std::string_view kServiceKeys[] = {"drain_timeout", "workers"};
constexpr std::string_view kAdminKeys[] = {"bind", "token_file", "basic_auth_file"};
constexpr std::string_view kShieldKeys[] = {"refuse_ms_t120"};
constexpr std::string_view kLoggingKeys[] = {"handshake_log", "level", "rotate_size_mb",
                                             "rotate_files", "group"};
constexpr std::string_view kLimitsKeys[] = {"handshake_timeout",
                                            "max_x224_request",
                                            "relay_buffer",
                                            "max_sessions",
                                            "max_handshakes",
                                            "max_sessions_per_source",
                                            "max_handshakes_per_source",
                                            "connections_per_second_per_source",
                                            "idle_timeout",
                                            "ipv6_source_prefix",
                                            "keepalive"};

}  // namespace

void Reader::read_logging(const Scope& s, Logging& out) {
    check_keys(s, kLoggingKeys);
    if (auto p = path(s, "handshake_log")) out.handshake_log = *p;
    if (auto level = choice(s, "level", kLevelChoices, "a log level")) out.level = *level;
    if (auto n = integer(s, "rotate_size_mb", 1, 100000))
        out.rotate_size_mb = static_cast<std::size_t>(*n);
    if (auto n = integer(s, "rotate_files", 1, 100))
        out.rotate_files = static_cast<std::size_t>(*n);
    if (auto g = nonempty(s, "group")) out.group = *g;
}

void Reader::read_limits(const Scope& s, Limits& out) {
    check_keys(s, kLimitsKeys);
    if (auto d = duration(s, "handshake_timeout")) out.handshake_timeout = *d;
    if (auto n = integer(s, "max_x224_request", 64, 65535)) {
        out.max_x224_request = static_cast<std::size_t>(*n);
    }
    if (auto n = integer(s, "relay_buffer", 1024, 1048576)) {
        out.relay_buffer = static_cast<std::size_t>(*n);
    }
    if (auto n = integer(s, "max_sessions", 1, 1000000)) out.max_sessions = std::size_t(*n);
    if (auto n = integer(s, "max_handshakes", 1, 1000000)) out.max_handshakes = std::size_t(*n);
    if (auto n = integer(s, "max_sessions_per_source", 1, 1000000))
        out.max_sessions_per_source = std::size_t(*n);
    out.max_handshakes_per_source = default_handshakes_per_source(out.max_handshakes);
    if (auto n = integer(s, "max_handshakes_per_source", 1, 1000000)) {
        if (std::size_t(*n) <= out.max_handshakes) {
            out.max_handshakes_per_source = std::size_t(*n);
        } else {
            fail(s.get("max_handshakes_per_source")->source(), s.key("max_handshakes_per_source"),
                 std::to_string(*n) + " is more than max_handshakes (" +
                     std::to_string(out.max_handshakes) +
                     "), so one source could take every handshake slot; use at most " +
                     std::to_string(out.max_handshakes) + ", or raise max_handshakes");
        }
    }
    if (auto n = integer(s, "ipv6_source_prefix", 1, 128)) out.ipv6_source_prefix = int(*n);
    if (auto n = integer(s, "connections_per_second_per_source", 1, 1000000))
        out.connections_per_second_per_source = double(*n);
    // 0: sessions may stay idle for ever
    if (auto d = duration_or_off(s, "idle_timeout", kMaxIdleMs)) out.idle_timeout = *d;
    // 0: no keepalive probes
    if (auto d = duration_or_off(s, "keepalive", kMaxKeepaliveMs)) {
        // The kernel counts keepalive times in whole seconds; only a string can be anything else.
        if (d->count() % 1000 != 0) {
            const toml::node* keepalive = s.get("keepalive");
            fail(keepalive->source(), s.key("keepalive"),
                 in_quotes(keepalive->as_string()->get()) +
                     " is not whole seconds; TCP keepalive counts seconds: write e.g. \"60s\"");
        } else {
            out.keepalive = *d;
        }
    }
}

void Reader::read_service(const Scope& s, Service& out) {
    check_keys(s, kServiceKeys);
    // 0: SIGTERM closes sessions at once
    if (auto d = duration_or_off(s, "drain_timeout", kMaxIdleMs)) out.drain_timeout = *d;
    if (auto n = integer(s, "workers", 0, kMaxWorkers)) out.workers = int(*n);
}

void Reader::read_admin(const Scope& s, Admin& out) {
    check_keys(s, kAdminKeys);
    if (auto ep = endpoint(s, "bind", false, "\"127.0.0.1:9389\"")) out.bind = *ep;
    out.token_file = path(s, "token_file");
    out.basic_auth_file = path(s, "basic_auth_file");
    // Judged by presence: a key that is there but empty has its own error already.
    const toml::node* token = s.get("token_file");
    const toml::node* basic = s.get("basic_auth_file");
    if (token != nullptr && basic != nullptr) {
        const toml::node* later = basic->source().begin < token->source().begin ? token : basic;
        fail(later->source(), s.key(later == basic ? "basic_auth_file" : "token_file"),
             "token_file and basic_auth_file are both set, and the admin endpoint takes one kind "
             "of credentials; keep token_file (a bearer token: Prometheus' authorization "
             "credentials_file) or basic_auth_file (user:password lines: Prometheus' basic_auth, "
             "a browser), and remove the other");
    } else if (out.bind && token == nullptr && basic == nullptr) {
        if (auto problem = admin_exposure_problem(*out.bind)) {
            fail(s.get("bind")->source(), s.key("bind"),
                 *problem +
                     "; add token_file = \"/etc/rdpbridge/admin-token\" (a bearer token, for "
                     "Prometheus) or basic_auth_file = \"/etc/rdpbridge/admin-users\" "
                     "(user:password lines, for a browser) to [admin], each a file of mode 0600, "
                     "or bind to a loopback address such as \"127.0.0.1:" +
                     std::to_string(out.bind->port) + "\"");
        }
    }
}

void Reader::read_shield(const Scope& s, Shield& out) {
    check_keys(s, kShieldKeys);
    if (auto b = boolean(s, "refuse_ms_t120")) out.refuse_ms_t120 = *b;
}

}  // namespace rdpbridge::config::internal
