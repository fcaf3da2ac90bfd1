// The TOML reader behind parse(), shared by the config/load*.cpp files that each read a part of
// the file. It includes toml++, which only config/load*.cpp may include: everything else about
// the config is kept buildable and testable without TOML.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config/checks.hpp"
#include "config/cidr.hpp"
#include "config/config.hpp"
#include "config/duration.hpp"
#include "config/load.hpp"

namespace rdpbridge::config::internal {

namespace fs = std::filesystem;

// Dotted path to `key` inside the table at `path`; keys TOML would need quoted stay quoted, so
// the path can be read back unambiguously.
std::string child(std::string_view path, std::string_view key);

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

    // Sections. load_settings.cpp:
    void read_logging(const Scope& s, Logging& out);
    void read_limits(const Scope& s, Limits& out);
    void read_shield(const Scope& s, Shield& out);
    void read_service(const Scope& s, Service& out);
    void read_admin(const Scope& s, Admin& out);
    // load_listeners.cpp:
    Listener read_listener(const Scope& s);
    void read_front_tls(const Scope& s, FrontTls& out);
    std::vector<Cidr> read_cidrs(const Scope& s, std::string_view key);
    // load_backends.cpp:
    Backend read_backend(const Scope& s);
    void read_encryption_methods(const Scope& s, uint32_t& out);
    void read_backend_tls(const Scope& s, BackendSecurity security, BackendTls& out);
    void check_tls_range(const Scope& s, const BackendTls& tls);
    void check_verify(const Scope& s, BackendSecurity security, CertVerify verify);
    // load_channels.cpp ([backend.channels], [route.channels]):
    enum class Names { channels, devices };
    std::optional<ChannelPolicy> read_channel_policy(const Scope& parent, std::string_view what,
                                                     std::string_view devices_what);
    PassRules read_pass_rules(const Scope& s, Names kind);
    std::optional<std::vector<std::string>> read_names(const Scope& s, std::string_view key,
                                                       Names kind);
    // load.cpp, with the rules that cross sections:
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

}  // namespace rdpbridge::config::internal
