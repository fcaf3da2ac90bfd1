#include "proxy/preflight.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "proxy/admin_auth.hpp"
#include "proxy/asio.hpp"
#include "tls/context.hpp"

namespace rdpbridge::proxy {

namespace {

struct Account {
    std::string name;
    uid_t uid = 0;
    std::vector<gid_t> groups;
};

std::optional<Account> find_account(const std::string& name) {
    struct passwd* pw = name.empty() ? ::getpwuid(::geteuid()) : ::getpwnam(name.c_str());
    if (pw == nullptr) return std::nullopt;
    Account a{pw->pw_name, pw->pw_uid, {}};
    int n = 64;
    a.groups.resize(std::size_t(n));
    if (::getgrouplist(pw->pw_name, pw->pw_gid, a.groups.data(), &n) < 0) {
        a.groups.resize(std::size_t(n));
        ::getgrouplist(pw->pw_name, pw->pw_gid, a.groups.data(), &n);
    }
    a.groups.resize(std::size_t(n));
    return a;
}

// What the account may do with the file, from its owner, group and mode (root may do anything).
bool allowed(const struct stat& st, const Account& a, mode_t user_bit, mode_t group_bit,
             mode_t other_bit) {
    if (a.uid == 0) return true;
    if (st.st_uid == a.uid) return (st.st_mode & user_bit) != 0;
    for (gid_t g : a.groups)
        if (g == st.st_gid) return (st.st_mode & group_bit) != 0;
    return (st.st_mode & other_bit) != 0;
}

std::string octal(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", unsigned(mode & 07777));
    return text;
}

class Checker {
  public:
    Checker(const config::Config& c, const Account& a, PreflightReport& r)
        : config_(c), account_(a), report_(r) {}

    void fail(const std::string& key, std::string message) {
        report_.errors.push_back(config::error_at(config_, key, std::move(message)));
    }

    // A file the service reads; `secret` files must be private to their owner.
    void readable(const std::string& key, const std::filesystem::path& path, bool secret,
                  const std::string& holds) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            fail(key, path.string() + ": " + std::strerror(errno) + "; create it" +
                          (holds.empty() ? "" : " " + holds) + (secret ? ", mode 0600" : ""));
            return;
        }
        if (!S_ISREG(st.st_mode)) {
            fail(key, path.string() + " is not a regular file");
            return;
        }
        if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
            fail(key, path.string() + " has mode " + octal(st.st_mode) +
                          ": it holds secrets, so only the service's user may read it; chmod 600 " +
                          path.string());
        }
        if (!allowed(st, account_, S_IRUSR, S_IRGRP, S_IROTH)) {
            fail(key, path.string() + " is not readable by user " + account_.name +
                          ", who runs the service (owner uid " + std::to_string(st.st_uid) +
                          ", mode " + octal(st.st_mode) + "); chown " + account_.name + " " +
                          path.string());
        }
    }

    // A directory the service creates files in (or will create, below an existing parent).
    void writable_dir(const std::string& key, const std::filesystem::path& dir,
                      const std::string& why) {
        std::filesystem::path d = dir.empty() ? std::filesystem::path(".") : dir;
        struct stat st {};
        while (::stat(d.c_str(), &st) != 0) {
            if (!d.has_parent_path() || d.parent_path() == d) {
                fail(key, dir.string() + ": no part of it exists");
                return;
            }
            d = d.parent_path();  // the service creates the missing levels
        }
        if (!S_ISDIR(st.st_mode)) {
            fail(key, d.string() + " is not a directory");
            return;
        }
        if (!allowed(st, account_, S_IWUSR | S_IXUSR, S_IWGRP | S_IXGRP, S_IWOTH | S_IXOTH) ||
            !allowed(st, account_, S_IXUSR, S_IXGRP, S_IXOTH) ||
            !allowed(st, account_, S_IWUSR, S_IWGRP, S_IWOTH)) {
            const bool missing = d != dir;
            fail(key, (missing ? dir.string() + " does not exist and " : "") + d.string() +
                          " is not writable by user " + account_.name + " (" + why + "); " +
                          (missing ? "mkdir -p " + dir.string() + " && chown " + account_.name +
                                         " " + dir.string()
                                   : "chown " + account_.name + " " + d.string()) +
                          " (the unit's StateDirectory=/LogsDirectory= do this for the service)");
        }
    }

  private:
    const config::Config& config_;
    const Account& account_;
    PreflightReport& report_;
};

bool overlaps(const config::Endpoint& a, const config::Endpoint& b) {
    if (a.port != b.port || a.port == 0) return false;
    boost::system::error_code ea, eb;
    const auto x = asio::ip::make_address(a.host, ea);
    const auto y = asio::ip::make_address(b.host, eb);
    if (ea || eb) return a.host == b.host;
    if (x == y) return true;
    // A wildcard takes the port on every address of its family (and, for ::, IPv4 too).
    return (x.is_unspecified() && (x.is_v6() || y.is_v4())) ||
           (y.is_unspecified() && (y.is_v6() || x.is_v4()));
}

}  // namespace

PreflightReport preflight(const config::Config& config, const std::string& as_user) {
    PreflightReport report;
    const auto account = find_account(as_user);
    if (!account) {
        report.errors.push_back(
            config::LoadError{"--as-user", 0, 0, "--as-user",
                              "no user \"" + as_user +
                                  "\" on this machine; give the account that runs the "
                                  "service (the unit's User=)"});
        return report;
    }
    report.user = account->name;
    Checker check(config, *account, report);

    bool generated = false;  // a listener's certificate is generated into the state directory
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const auto& l = config.listeners[i];
        const std::string key = "listener[" + std::to_string(i) + "]";
        for (std::size_t j = 0; j < i; ++j) {
            if (overlaps(config.listeners[j].bind, l.bind)) {
                check.fail(key + ".bind", "listener " + l.name + " binds " +
                                              config::to_string(l.bind) + ", which listener " +
                                              config.listeners[j].name + " (" +
                                              config::to_string(config.listeners[j].bind) +
                                              ") already takes; give each its own port");
            }
        }
        if (l.tls.certificate && l.tls.private_key) {
            const auto before = report.errors.size();
            check.readable(key + ".tls.certificate", *l.tls.certificate, false,
                           "with the PEM certificate chain, leaf first");
            check.readable(key + ".tls.private_key", *l.tls.private_key, true,
                           "with the unencrypted PEM private key");
            try {
                // Only files that are there: a missing one has its error already.
                if (report.errors.size() == before)
                    tls::make_front_context(l.tls, config.state_dir);
            } catch (const std::exception& e) {
                check.fail(key + ".tls.certificate", e.what());
            }
        } else {
            generated = true;
        }
        if (l.nla_users)
            check.readable(key + ".nla_users", *l.nla_users, true,
                           "with one DOMAIN:USER:PASSWORD line per user");
        if (l.nla_keytab)
            check.readable(key + ".nla_keytab", *l.nla_keytab, true,
                           "with ktutil (keys for TERMSRV/<this host>)");
    }
    for (std::size_t i = 0; i < config.backends.size(); ++i) {
        const auto& b = config.backends[i];
        const std::string key = "backend[" + std::to_string(i) + "]";
        if (b.tls.ca_file) check.readable(key + ".tls.ca_file", *b.tls.ca_file, false, "");
        try {
            tls::make_backend_context(b.tls);
        } catch (const std::exception& e) {
            const std::string what = e.what();
            const bool cipher = what.find("cipher") != std::string::npos;
            check.fail(key + (cipher ? ".tls.ciphers" : ".tls"),
                       "backend " + b.name + ": " + what +
                           (cipher ? "; list OpenSSL cipher names (openssl ciphers -v ALL "
                                     "shows them), e.g. \"AES256-SHA:AES128-SHA\""
                                   : ""));
        }
        if (b.credentials)
            check.readable(key + ".credentials.password_file", b.credentials->password_file, true,
                           "with the service account's password on one line");
    }
    if (config.admin.token_file)
        check.readable("admin.token_file", *config.admin.token_file, true, kAdminTokenFileHolds);
    if (config.admin.basic_auth_file) {
        check.readable("admin.basic_auth_file", *config.admin.basic_auth_file, true,
                       kAdminUsersFileHolds);
    }
    const bool tofu = std::any_of(config.backends.begin(), config.backends.end(),
                                  [](auto& b) { return b.tls.verify == config::CertVerify::tofu; });
    // The known-hosts store is replaced by rename, so its directory must be writable.
    const bool store_in_state_dir = !config.known_hosts;
    if ((tofu && store_in_state_dir) || generated) {
        const bool here = tofu && store_in_state_dir;
        check.writable_dir("state_dir", config.state_dir,
                           std::string(here ? "known_hosts.jsonl is kept there" : "") +
                               (here && generated ? "; " : "") +
                               (generated ? "the front certificate is generated there" : ""));
    }
    if (tofu && !store_in_state_dir) {
        check.writable_dir("known_hosts", config.known_hosts->parent_path(),
                           "the known-hosts store is rewritten there (a new file, then a rename), "
                           "with its lock file beside it");
    }
    if (config.logging.handshake_log) {
        check.writable_dir("logging.handshake_log", config.logging.handshake_log->parent_path(),
                           "the handshake log and its rotations are written there");
    }

    report.checked = {
        "listener addresses do not collide",
        "front certificates and keys load and match (or the state directory can hold a "
        "generated one)",
        std::to_string(config.backends.size()) +
            " backend TLS context(s) build (versions, ciphers, security level, CA files)",
        "files the service reads exist, hold secrets privately, and are readable by user " +
            account->name,
        "directories the service writes (state, handshake log) are writable by user " +
            account->name,
    };
    return report;
}

}  // namespace rdpbridge::proxy
