// Reading a config file from disk; what the text means is parse()'s business.
#include "config/load.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace rdpbridge::config {
namespace {

namespace fs = std::filesystem;

// Relative paths in a config file mean "next to this file", whatever directory the daemon was
// started from.
void resolve_paths(Config& c, const fs::path& base) {
    const auto resolve = [&](fs::path& p) {
        if (p.is_relative()) p = (base / p).lexically_normal();
    };
    const auto resolve_opt = [&](std::optional<fs::path>& p) {
        if (p) resolve(*p);
    };
    resolve(c.state_dir);
    resolve_opt(c.known_hosts);
    resolve_opt(c.logging.handshake_log);
    resolve_opt(c.admin.token_file);
    resolve_opt(c.admin.basic_auth_file);
    for (Listener& l : c.listeners) {
        resolve_opt(l.tls.certificate);
        resolve_opt(l.tls.private_key);
        resolve_opt(l.nla_users);
        resolve_opt(l.nla_keytab);
    }
    for (Backend& b : c.backends) {
        resolve_opt(b.tls.ca_file);
        if (b.credentials) resolve(b.credentials->password_file);
    }
}

LoadResult file_error(const fs::path& path, std::string message) {
    return std::vector<LoadError>{LoadError{path.string(), 0, 0, "", std::move(message)}};
}

}  // namespace

LoadResult load_file(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        return file_error(path, "cannot read the config: it is a directory, not a TOML file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return file_error(path, "cannot open the config: " + std::string(std::strerror(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return file_error(path, "cannot read the config: " + std::string(std::strerror(errno)));
    }

    LoadResult result = parse(text.str(), path.string());
    if (auto* config = std::get_if<Config>(&result)) {
        const fs::path absolute = fs::absolute(path, ec);
        resolve_paths(*config, (ec ? path : absolute).parent_path());
    }
    return result;
}

}  // namespace rdpbridge::config
