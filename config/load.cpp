// parse() and what every part of the TOML reader shares: the value readers, the top level,
// [[route]] and the rules that cross sections. Each section's own reading is in a
// load_<section>.cpp, so a new key touches one file.
#include "config/load.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <system_error>
#include <utility>

#include "config/endpoint.hpp"
#include "config/load_toml.hpp"
#include "config/suggest.hpp"
#include "config/wording.hpp"

static_assert(TOML_EXCEPTIONS, "parse() turns toml::parse_error exceptions into a LoadError");

namespace rdpbridge::config {
namespace internal {
namespace {

constexpr std::string_view kRootKeys[] = {"state_dir", "known_hosts", "logging", "limits",
                                          "shield",    "service",     "admin",   "listener",
                                          "backend",   "route"};
constexpr std::string_view kRouteKeys[] = {"listener", "mstshash", "backend", "channels"};

bool is_bare_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-';
    });
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

void sort_by_position(std::vector<LoadError>& errors) {
    std::stable_sort(errors.begin(), errors.end(), [](const LoadError& a, const LoadError& b) {
        return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
}

}  // namespace

std::string child(std::string_view path, std::string_view key) {
    std::string k = is_bare_key(key) ? std::string(key) : in_quotes(key);
    return path.empty() ? k : std::string(path) + "." + k;
}

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
    r.channels = read_channel_policy(s, "[route.channels]", "[route.channels.devices]");
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
    c.known_hosts = path(top, "known_hosts");
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

}  // namespace internal

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
    internal::Reader reader(source_name);
    Config config = reader.read(root);
    std::vector<LoadError> errors = reader.take_errors();
    config.source = source_name;
    config.positions = reader.take_positions();
    if (errors.empty()) return config;
    internal::sort_by_position(errors);
    return errors;
}

}  // namespace rdpbridge::config
