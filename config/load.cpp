#include "config/load.hpp"

#include "config/checks.hpp"
#include "config/cidr.hpp"
#include "config/duration.hpp"
#include "config/endpoint.hpp"
#include "config/suggest.hpp"
#include "config/wording.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <span>
#include <system_error>
#include <utility>

// toml++ is slow to compile; this is the only file that includes it.
#include <toml++/toml.h>

static_assert(TOML_EXCEPTIONS, "parse() turns toml::parse_error exceptions into a LoadError");

namespace rdpbridge::config {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Key paths and TOML types, as errors name them

bool is_bare_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-';
    });
}

// Dotted path to `key` inside the table at `path`; keys TOML would need quoted stay quoted, so
// the path can be read back unambiguously.
std::string child(std::string_view path, std::string_view key) {
    std::string k = is_bare_key(key) ? std::string(key) : in_quotes(key);
    return path.empty() ? k : std::string(path) + "." + k;
}

std::string indexed(std::string_view path, std::size_t index) {
    return std::string(path) + "[" + std::to_string(index) + "]";
}

std::string_view type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

// How a number or boolean reads in TOML, for "put it in quotes" hints. Floats use the shortest
// form that round-trips, so 1.2 shows as "1.2" and not "1.2000000000000002".
std::string scalar_text(const toml::node& n) {
    if (const auto* f = n.as_floating_point()) {
        char buffer[64];
        const auto [end, ec] = std::to_chars(std::begin(buffer), std::end(buffer), f->get());
        std::string text(std::begin(buffer), ec == std::errc() ? end : std::begin(buffer));
        if (text.find_first_of(".eE") == std::string::npos &&
            std::isdigit(static_cast<unsigned char>(text.back()))) {
            text += ".0";  // 1.0 must not become "1"
        }
        return text;
    }
    if (const auto* i = n.as_integer()) return std::to_string(i->get());
    if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
    return {};
}

// ---------------------------------------------------------------------------------------------
// The TOML reader

constexpr std::string_view kRootKeys[] = {"state_dir", "logging",  "limits",  "shield", "service",
                                          "admin",     "listener", "backend", "route"};
// More loops than this buys nothing on any machine rdpbridge targets; a typo (10000) would
// otherwise start that many threads.
constexpr std::int64_t kMaxWorkers = 256;
constexpr std::string_view kServiceKeys[] = {"drain_timeout", "workers"};
constexpr std::string_view kAdminKeys[] = {"bind"};
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
constexpr std::string_view kListenerKeys[] = {
    "name", "bind",           "default_backend",    "tls",
    "nla",  "nla_users",      "nla_keytab",         "allow",
    "deny", "proxy_protocol", "proxy_protocol_from"};
constexpr std::string_view kFrontTlsKeys[] = {"certificate", "private_key", "min_version"};
constexpr std::string_view kBackendKeys[] = {
    "name", "address",     "security",          "connect_timeout", "encryption_methods",
    "tls",  "credentials", "early_host_contact"};
constexpr std::string_view kCredentialsKeys[] = {"user", "domain", "password_file"};
constexpr std::string_view kBackendTlsKeys[] = {"min_version",
                                                "max_version",
                                                "ciphers",
                                                "security_level",
                                                "legacy_renegotiation",
                                                "verify",
                                                "pin_sha256",
                                                "ca_file",
                                                "sni",
                                                "name",
                                                "rdp_key_sha256",
                                                "tofu_first_use"};
constexpr std::string_view kRouteKeys[] = {"listener", "mstshash", "backend"};

// A table being read, with the names errors use for it.
struct Scope {
    const toml::table* table;
    std::string path;       // dotted path, "" at the top level
    std::string_view what;  // how messages name it: "[[backend]]", "[backend.tls]", ...

    const toml::node* get(std::string_view key) const { return table->get(key); }
    std::string key(std::string_view k) const { return child(path, k); }
};

enum class Need { optional, required };

class Reader {
  public:
    explicit Reader(std::string_view file) : file_(file) {}

    Config read(const toml::table& root);
    std::vector<LoadError> take_errors() { return std::move(errors_); }
    std::map<std::string, SourcePosition, std::less<>> take_positions() {
        return std::move(positions_);
    }

  private:
    void fail(const toml::source_region& where, std::string key, std::string message);
    void wrong_type(const toml::node& n, const std::string& key, std::string_view expected);

    // Structure
    void check_keys(const Scope& s, std::span<const std::string_view> allowed);
    std::optional<Scope> table(const Scope& parent, std::string_view key, std::string_view what);
    std::vector<Scope> table_array(const Scope& root, std::string_view key, std::string_view what);
    const toml::node* find(const Scope& s, std::string_view key, Need need,
                           std::string_view example = {});
    void require_one(const Scope& root, std::string_view key, std::string_view example);

    // Values; each reports its own errors and returns nothing when the value is absent or bad.
    std::optional<std::string> string(const Scope& s, std::string_view key,
                                      Need need = Need::optional, std::string_view example = {});
    std::optional<std::string> nonempty(const Scope& s, std::string_view key,
                                        Need need = Need::optional, std::string_view example = {});
    std::optional<std::int64_t> integer(const Scope& s, std::string_view key, std::int64_t lo,
                                        std::int64_t hi);
    std::optional<bool> boolean(const Scope& s, std::string_view key);
    std::optional<Duration> duration(const Scope& s, std::string_view key,
                                     std::int64_t max_ms = kMaxDurationMs);
    // A duration where a bare 0 means "off" (idle_timeout, keepalive, drain_timeout).
    std::optional<Duration> duration_or_off(const Scope& s, std::string_view key,
                                            std::int64_t max_ms);
    std::optional<fs::path> path(const Scope& s, std::string_view key);
    std::optional<Endpoint> endpoint(const Scope& s, std::string_view key, bool port_zero_ok,
                                     std::string_view example);
    template <typename E, std::size_t N>
    std::optional<E> choice(const Scope& s, std::string_view key, const Choice<E> (&choices)[N],
                            std::string_view what);

    // Sections
    void read_logging(const Scope& s, Logging& out);
    void read_limits(const Scope& s, Limits& out);
    void read_shield(const Scope& s, Shield& out);
    void read_service(const Scope& s, Service& out);
    void read_admin(const Scope& s, Admin& out);
    void read_encryption_methods(const Scope& s, uint32_t& out);
    std::vector<Cidr> read_cidrs(const Scope& s, std::string_view key);
    Listener read_listener(const Scope& s);
    void read_front_tls(const Scope& s, FrontTls& out);
    Backend read_backend(const Scope& s);
    void read_backend_tls(const Scope& s, BackendSecurity security, BackendTls& out);
    void check_tls_range(const Scope& s, const BackendTls& tls);
    void check_verify(const Scope& s, BackendSecurity security, CertVerify verify);
    Route read_route(const Scope& s);

    // Cross-section rules
    void check_unique(const std::vector<Scope>& scopes, const std::vector<std::string>& names,
                      std::string_view kind);
    void check_reference(const Scope& s, std::string_view key, const std::string& value,
                         const std::vector<std::string>& names, std::string_view kind);
    void check_coverage(const std::vector<Scope>& scopes, const Config& c);

    // Where each key was written, for checks made after loading (see error_at).
    void note(const std::string& key, const toml::source_region& where) {
        positions_[key] = {int(where.begin.line), int(where.begin.column)};
    }

    std::string file_;
    std::vector<LoadError> errors_;
    std::map<std::string, SourcePosition, std::less<>> positions_;
};

void Reader::fail(const toml::source_region& where, std::string key, std::string message) {
    errors_.push_back(LoadError{file_, static_cast<int>(where.begin.line),
                                static_cast<int>(where.begin.column), std::move(key),
                                std::move(message)});
}

void Reader::wrong_type(const toml::node& n, const std::string& key, std::string_view expected) {
    std::string message =
        "expected " + std::string(expected) + ", got " + std::string(type_name(n));
    // `min_version = 1.2` is the classic: TOML reads it as a float.
    if (expected == "a string" && (n.is_number() || n.is_boolean())) {
        message += "; put it in quotes: " + in_quotes(scalar_text(n));
    }
    fail(n.source(), key, std::move(message));
}

void Reader::check_keys(const Scope& s, std::span<const std::string_view> allowed) {
    for (auto&& [k, v] : *s.table) {
        if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
        fail(k.source(), s.key(k.str()),
             "unknown key " + in_quotes(k.str()) + " in " + std::string(s.what) + "; " +
                 did_you_mean(k.str(), allowed) + "allowed keys: " + join(allowed, false));
    }
}

std::optional<Scope> Reader::table(const Scope& parent, std::string_view key,
                                   std::string_view what) {
    const toml::node* n = parent.get(key);
    if (n == nullptr) return std::nullopt;
    if (const toml::table* t = n->as_table()) {
        note(parent.key(key), t->source());
        return Scope{t, parent.key(key), what};
    }
    wrong_type(*n, parent.key(key), "a table");
    return std::nullopt;
}

std::vector<Scope> Reader::table_array(const Scope& root, std::string_view key,
                                       std::string_view what) {
    std::vector<Scope> scopes;
    const toml::node* n = root.get(key);
    if (n == nullptr) return scopes;
    const toml::array* array = n->as_array();
    if (array == nullptr) {
        std::string message = "expected an array of tables, got " + std::string(type_name(*n));
        if (n->is_table()) message += "; write " + std::string(what) + " with double brackets";
        fail(n->source(), root.key(key), std::move(message));
        return scopes;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        if (const toml::table* t = element.as_table()) {
            note(indexed(root.key(key), i), t->source());
            scopes.push_back(Scope{t, indexed(root.key(key), i), what});
        } else {
            wrong_type(element, indexed(root.key(key), i), "a table");
        }
    }
    return scopes;
}

const toml::node* Reader::find(const Scope& s, std::string_view key, Need need,
                               std::string_view example) {
    const toml::node* n = s.get(key);
    if (n != nullptr) note(s.key(key), n->source());
    if (n == nullptr && need == Need::required) {
        fail(s.table->source(), s.key(key),
             "required key is missing in " + std::string(s.what) + "; add e.g. " +
                 std::string(example));
    }
    return n;
}

void Reader::require_one(const Scope& root, std::string_view key, std::string_view example) {
    const toml::node* n = root.get(key);
    if (n != nullptr && !(n->is_array() && n->as_array()->empty())) return;
    fail(n != nullptr ? n->source() : root.table->source(), std::string(key),
         "at least one [[" + std::string(key) + "]] is required; add e.g. " + std::string(example) +
             " (one key per line)");
}

std::optional<std::string> Reader::string(const Scope& s, std::string_view key, Need need,
                                          std::string_view example) {
    const toml::node* n = find(s, key, need, example);
    if (n == nullptr) return std::nullopt;
    if (const auto* v = n->as_string()) return v->get();
    wrong_type(*n, s.key(key), "a string");
    return std::nullopt;
}

std::optional<std::string> Reader::nonempty(const Scope& s, std::string_view key, Need need,
                                            std::string_view example) {
    auto value = string(s, key, need, example);
    if (!value || !value->empty()) return value;
    std::string message = "must not be empty";
    if (need == Need::optional) message += "; remove the key to use the default";
    if (!example.empty()) message += "; e.g. " + std::string(example);
    fail(s.get(key)->source(), s.key(key), std::move(message));
    return std::nullopt;
}

std::optional<std::int64_t> Reader::integer(const Scope& s, std::string_view key, std::int64_t lo,
                                            std::int64_t hi) {
    const toml::node* n = s.get(key);
    if (n == nullptr) return std::nullopt;
    const auto* v = n->as_integer();
    if (v == nullptr) {
        wrong_type(*n, s.key(key), "an integer");
        return std::nullopt;
    }
    if (v->get() < lo || v->get() > hi) {
        fail(n->source(), s.key(key),
             std::to_string(v->get()) + " is out of range; use " + std::to_string(lo) + ".." +
                 std::to_string(hi));
        return std::nullopt;
    }
    return v->get();
}

std::optional<bool> Reader::boolean(const Scope& s, std::string_view key) {
    const toml::node* n = s.get(key);
    if (n == nullptr) return std::nullopt;
    if (const auto* v = n->as_boolean()) return v->get();
    wrong_type(*n, s.key(key), "a boolean (true or false)");
    return std::nullopt;
}

std::optional<Duration> Reader::duration_or_off(const Scope& s, std::string_view key,
                                                std::int64_t max_ms) {
    const toml::node* n = s.get(key);
    if (n != nullptr && n->as_integer() != nullptr && n->as_integer()->get() == 0)
        return Duration::zero();
    return duration(s, key, max_ms);
}

std::optional<Duration> Reader::duration(const Scope& s, std::string_view key,
                                         std::int64_t max_ms) {
    const toml::node* n = s.get(key);
    if (n == nullptr) return std::nullopt;
    std::optional<std::int64_t> ms;
    std::string as_written;
    if (const auto* seconds = n->as_integer()) {
        const std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 1000;
        ms = std::clamp(seconds->get(), -limit, limit) * 1000;
        as_written = std::to_string(seconds->get()) + "s";
    } else if (const auto* text = n->as_string()) {
        ms = parse_duration_text(text->get());
        as_written = in_quotes(text->get());
        if (!ms) {
            fail(n->source(), s.key(key),
                 as_written +
                     " is not a duration; write whole seconds (10) or a number with "
                     "unit ms, s, m or h: \"500ms\", \"10s\", \"2m\", \"12h\"");
            return std::nullopt;
        }
    } else {
        wrong_type(*n, s.key(key), "a duration (whole seconds, or a string such as \"10s\")");
        return std::nullopt;
    }
    if (auto problem = check_duration_ms(*ms, as_written, max_ms)) {
        fail(n->source(), s.key(key), std::move(*problem));
        return std::nullopt;
    }
    return Duration(*ms);
}

std::optional<fs::path> Reader::path(const Scope& s, std::string_view key) {
    if (auto text = nonempty(s, key)) return fs::path(*text);
    return std::nullopt;
}

std::optional<Endpoint> Reader::endpoint(const Scope& s, std::string_view key, bool port_zero_ok,
                                         std::string_view example) {
    const auto text = string(s, key, Need::required, example);
    if (!text) return std::nullopt;
    Endpoint ep;
    if (auto problem = check_endpoint(*text, port_zero_ok, ep)) {
        fail(s.get(key)->source(), s.key(key), std::move(*problem));
        return std::nullopt;
    }
    return ep;
}

template <typename E, std::size_t N>
std::optional<E> Reader::choice(const Scope& s, std::string_view key, const Choice<E> (&choices)[N],
                                std::string_view what) {
    const auto text = string(s, key);
    if (!text) return std::nullopt;
    E value{};
    if (auto problem = check_choice(*text, choices, what, value)) {
        fail(s.get(key)->source(), s.key(key), std::move(*problem));
        return std::nullopt;
    }
    return value;
}

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
}

void Reader::read_shield(const Scope& s, Shield& out) {
    check_keys(s, kShieldKeys);
    if (auto b = boolean(s, "refuse_ms_t120")) out.refuse_ms_t120 = *b;
}

std::vector<Cidr> Reader::read_cidrs(const Scope& s, std::string_view key) {
    std::vector<Cidr> out;
    const toml::node* n = find(s, key, Need::optional);
    if (n == nullptr) return out;
    const toml::array* array = n->as_array();
    if (array == nullptr) {
        fail(
            n->source(), s.key(key),
            "expected an array of addresses or ranges, e.g. [\"192.0.2.0/24\", \"2001:db8::/32\"]");
        return out;
    }
    for (const toml::node& item : *array) {
        const auto* text = item.as_string();
        std::string why = "expected a string such as \"192.0.2.0/24\"";
        auto cidr = text ? parse_cidr(text->get(), &why) : std::nullopt;
        if (!cidr) {
            fail(item.source(), s.key(key),
                 why +
                     "; write an address (\"192.0.2.7\") or a range "
                     "(\"192.0.2.0/24\", \"2001:db8::/32\")");
            continue;
        }
        out.push_back(std::move(*cidr));
    }
    return out;
}

void Reader::read_encryption_methods(const Scope& s, uint32_t& out) {
    static constexpr std::pair<std::string_view, uint32_t> kMethods[] = {
        {"40", rdp_method::bits40},
        {"56", rdp_method::bits56},
        {"128", rdp_method::bits128},
        {"fips", rdp_method::fips}};
    const toml::node* n = s.get("encryption_methods");
    if (n == nullptr) return;
    const std::string key = s.key("encryption_methods");
    const toml::array* array = n->as_array();
    if (array == nullptr || array->empty()) {
        fail(n->source(), key,
             "expected a non-empty array such as [\"128\", \"fips\"]; allowed values: "
             "\"40\", \"56\", \"128\", \"fips\"");
        return;
    }
    uint32_t methods = 0;
    for (const toml::node& item : *array) {
        const auto* text = item.as_string();
        const auto* hit = text == nullptr
                              ? std::end(kMethods)
                              : std::find_if(std::begin(kMethods), std::end(kMethods),
                                             [&](auto& m) { return m.first == text->get(); });
        if (hit == std::end(kMethods)) {
            fail(item.source(), key,
                 "unknown encryption method; allowed values: \"40\", \"56\", \"128\", \"fips\"");
            return;
        }
        methods |= hit->second;
    }
    out = methods;
}

Listener Reader::read_listener(const Scope& s) {
    check_keys(s, kListenerKeys);
    Listener l;
    if (auto name = string(s, "name", Need::required, "name = \"main\"")) {
        if (is_listener_name(*name)) {
            l.name = *name;
        } else {
            fail(s.get("name")->source(), s.key("name"),
                 in_quotes(*name) +
                     " is not a valid listener name; use only letters, digits, '_', "
                     "'.' and '-'");
        }
    }
    // Port 0 lets the OS pick a free port, which tests rely on.
    if (auto ep = endpoint(s, "bind", true, "bind = \"0.0.0.0:3389\"")) l.bind = *ep;
    if (auto b = nonempty(s, "default_backend")) l.default_backend = *b;
    if (auto tls = table(s, "tls", "[listener.tls]")) read_front_tls(*tls, l.tls);
    if (auto mode = choice(s, "nla", kNlaChoices, "an NLA mode")) l.nla = *mode;
    if (auto users = nonempty(s, "nla_users")) l.nla_users = fs::path(*users);
    if (auto keytab = nonempty(s, "nla_keytab")) l.nla_keytab = fs::path(*keytab);
    l.allow = read_cidrs(s, "allow");
    l.deny = read_cidrs(s, "deny");
    if (auto proxy = boolean(s, "proxy_protocol")) l.proxy_protocol = *proxy;
    l.proxy_protocol_from = read_cidrs(s, "proxy_protocol_from");
    if (l.proxy_protocol && l.proxy_protocol_from.empty() &&
        s.get("proxy_protocol_from") == nullptr) {
        fail(s.get("proxy_protocol")->source(), s.key("proxy_protocol"),
             "a PROXY header says where the client is, so only the load balancers may send "
             "one: add proxy_protocol_from = [\"10.0.0.5/32\"] with their addresses");
    } else if (!l.proxy_protocol && !l.proxy_protocol_from.empty()) {
        fail(s.get("proxy_protocol_from")->source(), s.key("proxy_protocol_from"),
             "is only read with proxy_protocol = true; set that too, or remove this key");
    }
    if (l.nla != NlaMode::off && !l.nla_users && s.get("nla_users") == nullptr) {
        fail(s.get("nla")->source(), s.key("nla"),
             "NLA needs to know who may log on: add nla_users = \"/etc/rdpbridge/nla-users\", a "
             "file of DOMAIN:USER:PASSWORD lines readable only by the gateway (mode 0600), or "
             "set nla = \"off\"");
    }
    return l;
}

void Reader::read_front_tls(const Scope& s, FrontTls& out) {
    check_keys(s, kFrontTlsKeys);
    out.certificate = path(s, "certificate");
    out.private_key = path(s, "private_key");
    const bool has_cert = s.get("certificate") != nullptr;
    const bool has_key = s.get("private_key") != nullptr;
    if (has_cert != has_key) {
        const std::string_view present = has_cert ? "certificate" : "private_key";
        const std::string_view missing = has_cert ? "private_key" : "certificate";
        fail(s.table->source(), s.key(missing),
             std::string(present) + " is set but " + std::string(missing) +
                 " is not; set both (PEM files) or neither (a self-signed certificate is then "
                 "generated in state_dir)");
    }

    const toml::node* version = s.get("min_version");
    const auto* text = version != nullptr ? version->as_string() : nullptr;
    if (text != nullptr && (text->get() == "1.0" || text->get() == "1.1")) {
        fail(version->source(), s.key("min_version"),
             in_quotes(text->get()) +
                 " is refused on the front: clients get TLS 1.2 or newer; use "
                 "\"1.2\" or \"1.3\" here. Legacy TLS belongs only in "
                 "[backend.tls], for old hosts");
        return;
    }
    if (auto v = choice(s, "min_version", kFrontTlsVersionChoices, "a TLS version")) {
        out.min_version = *v;
    }
}

Backend Reader::read_backend(const Scope& s) {
    check_keys(s, kBackendKeys);
    Backend b;
    if (auto name = nonempty(s, "name", Need::required, "name = \"win7\"")) b.name = *name;
    if (auto ep = endpoint(s, "address", false, "address = \"192.0.2.7:3389\"")) b.address = *ep;
    if (auto sec = choice(s, "security", kSecurityChoices, "a backend security mode")) {
        b.security = *sec;
    }
    if (auto d = duration(s, "connect_timeout")) b.connect_timeout = *d;
    if (auto early = boolean(s, "early_host_contact")) b.early_host_contact = *early;
    read_encryption_methods(s, b.encryption_methods);
    if (auto tls = table(s, "tls", "[backend.tls]")) read_backend_tls(*tls, b.security, b.tls);
    if (auto creds = table(s, "credentials", "[backend.credentials]")) {
        check_keys(*creds, kCredentialsKeys);
        ServiceCredentials c;
        if (auto u = nonempty(*creds, "user", Need::required, "user = \"kiosk\"")) c.user = *u;
        if (auto d = string(*creds, "domain")) c.domain = *d;
        if (auto f = nonempty(*creds, "password_file", Need::required,
                              "password_file = \"/etc/rdpbridge/kiosk.password\""))
            c.password_file = *f;
        b.credentials = std::move(c);
    }
    return b;
}

void Reader::read_backend_tls(const Scope& s, BackendSecurity security, BackendTls& out) {
    check_keys(s, kBackendTlsKeys);
    const auto min = choice(s, "min_version", kTlsVersionChoices, "a TLS version");
    const auto max = choice(s, "max_version", kTlsVersionChoices, "a TLS version");
    if (min) out.min_version = *min;
    if (max) out.max_version = *max;
    // A bad value already has its error; comparing with the default would only add noise.
    const bool versions_ok = (min || !s.get("min_version")) && (max || !s.get("max_version"));
    if (versions_ok) check_tls_range(s, out);

    if (auto c = nonempty(s, "ciphers")) out.ciphers = *c;
    if (auto level = integer(s, "security_level", 0, 5))
        out.security_level = static_cast<int>(*level);
    if (auto legacy = boolean(s, "legacy_renegotiation")) out.legacy_renegotiation = *legacy;
    const auto verify = choice(s, "verify", kVerifyChoices, "a verify mode");
    if (verify) out.verify = *verify;
    if (auto pin = string(s, "pin_sha256")) {
        if (auto problem = check_pin(*pin, out.pin_sha256)) {
            fail(s.get("pin_sha256")->source(), s.key("pin_sha256"), std::move(*problem));
        }
    }
    if (auto key = string(s, "rdp_key_sha256")) {
        if (auto problem = check_pin(*key, out.rdp_key_sha256)) {
            fail(s.get("rdp_key_sha256")->source(), s.key("rdp_key_sha256"), std::move(*problem));
        }
    }
    if (auto first = choice(s, "tofu_first_use", kFirstUseChoices, "a first-use policy"))
        out.tofu_first_use = *first;
    out.ca_file = path(s, "ca_file");
    if (auto sni = string(s, "sni")) out.sni = *sni;
    if (auto name = nonempty(s, "name")) out.name = *name;
    if (verify || s.get("verify") == nullptr) check_verify(s, security, out.verify);
}

void Reader::check_tls_range(const Scope& s, const BackendTls& tls) {
    if (tls.max_version >= tls.min_version) return;
    // Blame the key the user wrote; with only one written, the other is the default.
    const std::string_view blamed = s.get("max_version") != nullptr ? "max_version" : "min_version";
    fail(s.get(blamed)->source(), s.key(blamed),
         "max_version " + in_quotes(to_string(tls.max_version)) + " is lower than min_version " +
             in_quotes(to_string(tls.min_version)) +
             "; raise max_version or lower min_version (defaults: \"1.0\"..\"1.3\")");
}

// pin_sha256, ca_file, name, rdp_key_sha256 and tofu_first_use belong to some verify modes
// only; a stray one usually means the operator believes verification is on when it is not.
void Reader::check_verify(const Scope& s, BackendSecurity security, CertVerify verify) {
    const toml::node* pin = s.get("pin_sha256");
    const toml::node* ca = s.get("ca_file");
    const toml::node* rdp_key = s.get("rdp_key_sha256");
    const bool rdp_only = security == BackendSecurity::rdp;
    if (verify == CertVerify::pin && rdp_only && rdp_key == nullptr) {
        fail(s.table->source(), s.key("rdp_key_sha256"),
             "verify = \"pin\" with security = \"rdp\" needs rdp_key_sha256 = \"<SHA-256 of "
             "the host's RDP key, as rdpbridge probe prints it>\"");
    }
    if (verify == CertVerify::pin && !rdp_only && pin == nullptr) {
        fail(s.table->source(), s.key("pin_sha256"),
             "verify = \"pin\" needs pin_sha256 = \"<SHA-256 as 64 hex digits>\"");
    }
    if (verify == CertVerify::ca && rdp_only) {
        fail(s.get("verify")->source(), s.key("verify"),
             "a CA cannot vouch for a Standard RDP Security key (security = \"rdp\"); use "
             "verify = \"tofu\", or \"pin\" with rdp_key_sha256");
    }
    if (verify == CertVerify::ca && ca == nullptr) {
        fail(s.table->source(), s.key("ca_file"),
             "verify = \"ca\" needs ca_file = \"<PEM file of trusted CA certificates>\"");
    }
    if (pin != nullptr && verify != CertVerify::pin) {
        fail(pin->source(), s.key("pin_sha256"),
             "pin_sha256 is only used with verify = \"pin\"; set verify = \"pin\" or remove it");
    }
    if (ca != nullptr && verify != CertVerify::ca) {
        fail(ca->source(), s.key("ca_file"),
             "ca_file is only used with verify = \"ca\"; set verify = \"ca\" or remove it");
    }
    if (const toml::node* name = s.get("name"); name != nullptr && verify != CertVerify::ca) {
        fail(name->source(), s.key("name"),
             "name is the host name checked in the certificate with verify = \"ca\"; set "
             "verify = \"ca\" or remove it");
    }
    if (rdp_key != nullptr && verify != CertVerify::pin && verify != CertVerify::ca) {
        fail(rdp_key->source(), s.key("rdp_key_sha256"),
             "rdp_key_sha256 is only used with verify = \"pin\" or \"ca\" (tofu records the "
             "key itself); set verify = \"pin\" or remove it");
    }
    if (const toml::node* first = s.get("tofu_first_use");
        first != nullptr && verify != CertVerify::tofu) {
        fail(first->source(), s.key("tofu_first_use"),
             "tofu_first_use is only used with verify = \"tofu\"; set verify = \"tofu\" or "
             "remove it");
    }
}

Route Reader::read_route(const Scope& s) {
    check_keys(s, kRouteKeys);
    Route r;
    if (auto l = nonempty(s, "listener")) r.listener = *l;
    if (auto m = nonempty(s, "mstshash", Need::required, "mstshash = \"plc-*\"")) {
        const auto star = m->find('*');
        if (star == std::string::npos || star == m->size() - 1) {
            r.mstshash = *m;
        } else {
            fail(s.get("mstshash")->source(), s.key("mstshash"),
                 in_quotes(*m) +
                     ": '*' is only allowed as the last character, where it matches "
                     "any suffix");
        }
    }
    if (auto b = nonempty(s, "backend", Need::required, "backend = \"win7\"")) r.backend = *b;
    return r;
}

void Reader::check_unique(const std::vector<Scope>& scopes, const std::vector<std::string>& names,
                          std::string_view kind) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i].empty()) continue;
        for (std::size_t j = 0; j < i; ++j) {
            if (names[j] != names[i]) continue;
            const toml::node* first = scopes[j].get("name");
            fail(scopes[i].get("name")->source(), scopes[i].key("name"),
                 "duplicate " + std::string(kind) + " name " + in_quotes(names[i]) +
                     " (first defined on line " + std::to_string(first->source().begin.line) +
                     "); " + std::string(kind) + " names must be unique");
            break;
        }
    }
}

void Reader::check_reference(const Scope& s, std::string_view key, const std::string& value,
                             const std::vector<std::string>& names, std::string_view kind) {
    // With nothing defined, the "at least one is required" error already says it all.
    if (value.empty() || names.empty()) return;
    if (std::find(names.begin(), names.end(), value) != names.end()) return;
    std::vector<std::string_view> views(names.begin(), names.end());
    views.erase(std::remove(views.begin(), views.end(), std::string_view()), views.end());
    fail(s.get(key)->source(), s.key(key),
         "no " + std::string(kind) + " named " + in_quotes(value) + " is defined; " +
             did_you_mean(value, views) + "defined: " + join(views, true));
}

void Reader::check_coverage(const std::vector<Scope>& scopes, const Config& c) {
    for (std::size_t i = 0; i < scopes.size(); ++i) {
        const Listener& l = c.listeners[i];
        // A default_backend that is present but bad has its own error already.
        if (l.name.empty() || scopes[i].get("default_backend") != nullptr) continue;
        const bool routed = std::any_of(c.routes.begin(), c.routes.end(), [&](const Route& r) {
            return r.listener.empty() || r.listener == l.name;
        });
        if (routed) continue;
        fail(scopes[i].table->source(), scopes[i].key("default_backend"),
             "listener " + in_quotes(l.name) +
                 " has no default_backend and no [[route]] applies to it, so no client could be "
                 "served; add default_backend = \"<backend name>\" or a [[route]] with listener "
                 "= " +
                 in_quotes(l.name));
    }
}

Config Reader::read(const toml::table& root) {
    const Scope top{&root, "", "the top level"};
    check_keys(top, kRootKeys);
    Config c;
    if (auto dir = path(top, "state_dir")) c.state_dir = *dir;
    if (auto s = table(top, "logging", "[logging]")) read_logging(*s, c.logging);
    if (auto s = table(top, "limits", "[limits]")) read_limits(*s, c.limits);
    if (auto s = table(top, "shield", "[shield]")) read_shield(*s, c.shield);
    if (auto s = table(top, "service", "[service]")) read_service(*s, c.service);
    if (auto s = table(top, "admin", "[admin]")) read_admin(*s, c.admin);

    const auto listeners = table_array(top, "listener", "[[listener]]");
    const auto backends = table_array(top, "backend", "[[backend]]");
    const auto routes = table_array(top, "route", "[[route]]");
    for (const Scope& s : listeners) c.listeners.push_back(read_listener(s));
    for (const Scope& s : backends) c.backends.push_back(read_backend(s));
    for (const Scope& s : routes) c.routes.push_back(read_route(s));

    require_one(top, "listener",
                "[[listener]] name = \"main\" bind = \"0.0.0.0:3389\" default_backend = \"win7\"");
    require_one(top, "backend", "[[backend]] name = \"win7\" address = \"192.0.2.7:3389\"");

    std::vector<std::string> listener_names;
    std::vector<std::string> backend_names;
    for (const Listener& l : c.listeners) listener_names.push_back(l.name);
    for (const Backend& b : c.backends) backend_names.push_back(b.name);
    check_unique(listeners, listener_names, "listener");
    check_unique(backends, backend_names, "backend");
    for (std::size_t i = 0; i < listeners.size(); ++i) {
        check_reference(listeners[i], "default_backend", c.listeners[i].default_backend,
                        backend_names, "backend");
    }
    for (std::size_t i = 0; i < routes.size(); ++i) {
        check_reference(routes[i], "listener", c.routes[i].listener, listener_names, "listener");
        check_reference(routes[i], "backend", c.routes[i].backend, backend_names, "backend");
    }
    check_coverage(listeners, c);
    return c;
}

void sort_by_position(std::vector<LoadError>& errors) {
    std::stable_sort(errors.begin(), errors.end(), [](const LoadError& a, const LoadError& b) {
        return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
}

}  // namespace

LoadResult parse(std::string_view toml_text, std::string_view source_name) {
    toml::table root;
    try {
        root = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        return std::vector<LoadError>{
            LoadError{std::string(source_name), static_cast<int>(e.source().begin.line),
                      static_cast<int>(e.source().begin.column), "",
                      "TOML syntax error: " + std::string(e.description())}};
    }
    Reader reader(source_name);
    Config config = reader.read(root);
    std::vector<LoadError> errors = reader.take_errors();
    config.source = source_name;
    config.positions = reader.take_positions();
    if (errors.empty()) return config;
    sort_by_position(errors);
    return errors;
}

}  // namespace rdpbridge::config
