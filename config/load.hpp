// Loading a Config: from a TOML file, from TOML text, or from the quick-start command-line flags.
// Every entry point validates completely and reports all problems at once, so an operator can fix
// a config in one pass instead of one error per restart.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
// parse_endpoint was declared here before it had a file of its own; callers still find it here.
#include "config/endpoint.hpp"

namespace rdpbridge::config {

struct LoadError {
    std::string file;  // path as given (or the command-line flag, for quick start)
    int line = 0;      // 1-based, 0 if unknown
    int column = 0;    // 1-based, 0 if unknown
    std::string key;   // dotted path with 0-based array indexes, e.g. "backend[1].tls.min_version"
    std::string message;  // what is wrong AND what is allowed / how to fix it

    // "FILE:LINE:COL: KEY: MESSAGE". ":LINE:COL" is left out when the line is unknown, and
    // "KEY: " when the key is empty or the same as FILE (quick-start flags).
    std::string to_string() const;
};

using LoadResult = std::variant<Config, std::vector<LoadError>>;

// Reads and validates a TOML file. Relative paths inside it (certificate, private_key, ca_file,
// handshake_log, state_dir) are resolved against the directory holding the file. A file that
// cannot be read gives one error naming it.
LoadResult load_file(const std::filesystem::path& path);

// Validates TOML text. `source_name` is used as LoadError::file; paths are kept as written.
LoadResult parse(std::string_view toml_text, std::string_view source_name);

// An error found after loading (a certificate that does not load, a cipher string OpenSSL
// refuses, listeners that collide), placed at the line where `key` (dotted, as in LoadError::key)
// or its nearest enclosing table was written.
LoadError error_at(const Config& config, const std::string& key, std::string message);

// Quick start: a config built from command-line flags on embedded defaults.
struct QuickStart {
    std::string listen;                                  // --listen, endpoint, default port 3389
    std::string target;                                  // --target, endpoint, default port 3389
    std::string backend_security = "auto";               // --backend-security auto|tls|rdp
    std::optional<std::filesystem::path> handshake_log;  // --handshake-log
    std::optional<std::filesystem::path> state_dir;      // --state-dir
    std::optional<std::filesystem::path> nla_users;      // --nla-users: NLA offered with these
    std::string admin;  // --admin ADDR:PORT: the admin endpoint ([admin] bind); empty = off
};

// One listener "quickstart" whose default_backend is the one backend, named after the target
// ("192.0.2.7:3389", "[2001:db8::7]:3389"). Errors carry the
// flag ("--listen", "--target", "--backend-security", "--handshake-log", "--state-dir") as both
// file and key.
LoadResult from_quick_start(const QuickStart& q);

}  // namespace rdpbridge::config
