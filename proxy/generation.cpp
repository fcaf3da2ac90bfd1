#include "proxy/generation.hpp"

#include <openssl/ssl.h>

#include <set>
#include <stdexcept>
#include <utility>

#include "proxy/nla/gss.hpp"
#include "proxy/startup_checks.hpp"
#include "tls/context.hpp"
#include "tls/inspect.hpp"

namespace rdpbridge::proxy {

namespace {

// A file holding passwords must exist and be readable by the gateway's user alone: say so at
// start (or reload), with the fix, rather than at the first client.
void require_private_file(const std::string& what, const std::filesystem::path& path,
                          const std::string& create) {
    if (auto problem = private_file_problem(what, path, create)) throw std::runtime_error(*problem);
}

// A listener with NLA needs gss-ntlmssp and its users file.
void check_nla(const config::Listener& listener) {
    if (listener.nla == config::NlaMode::off) return;
    const std::string who = "listener " + listener.name + ": ";
    if (auto available = nla::check_ntlm_available(); !available)
        throw std::runtime_error(who + available.error().message());
    require_private_file(who + "nla_users", *listener.nla_users,
                         "with one DOMAIN:USER:PASSWORD line per user");
    if (listener.nla_keytab) {
        require_private_file(who + "nla_keytab", *listener.nla_keytab,
                             "with ktutil or your domain's tools (keys for TERMSRV/<this host>)");
    }
}

// [admin]'s token or users, read when the generation is built: a reload picks up a new token.
std::shared_ptr<const AdminCredentials> read_admin(const config::Admin& admin) {
    auto credentials = read_admin_credentials(admin);
    if (auto* problem = std::get_if<std::string>(&credentials)) throw std::runtime_error(*problem);
    return std::make_shared<const AdminCredentials>(
        std::get<AdminCredentials>(std::move(credentials)));
}

// The backend's service password: the file's first line, read when the generation is built.
std::optional<ServiceAccount> read_service_account(const config::Backend& backend) {
    if (!backend.credentials) return std::nullopt;
    const auto& c = *backend.credentials;
    const std::string what = "backend " + backend.name + ": credentials.password_file";
    auto password = read_service_password(what, c);
    if (auto* problem = std::get_if<std::string>(&password)) throw std::runtime_error(*problem);
    return ServiceAccount{c.user, c.domain, std::move(std::get<rdp::Secret>(password))};
}

// Added, removed and changed entries of two lists keyed by name.
template <class T>
Json named_changes(const std::vector<T>& before, const std::vector<T>& after) {
    Json added = Json::array(), removed = Json::array(), changed = Json::array();
    for (const auto& a : after) {
        const auto old = std::find_if(before.begin(), before.end(),
                                      [&](const T& b) { return b.name == a.name; });
        if (old == before.end())
            added.push_back(a.name);
        else if (!(*old == a))
            changed.push_back(a.name);
    }
    for (const auto& b : before) {
        if (std::none_of(after.begin(), after.end(), [&](const T& a) { return a.name == b.name; }))
            removed.push_back(b.name);
    }
    Json out = Json::object();
    if (!added.empty()) out["added"] = std::move(added);
    if (!removed.empty()) out["removed"] = std::move(removed);
    if (!changed.empty()) out["changed"] = std::move(changed);
    return out;
}

// The [limits] keys whose values differ.
Json limit_changes(const config::Limits& a, const config::Limits& b) {
    Json keys = Json::array();
    const auto note = [&](bool differs, const char* key) {
        if (differs) keys.push_back(key);
    };
    note(a.handshake_timeout != b.handshake_timeout, "handshake_timeout");
    note(a.max_x224_request != b.max_x224_request, "max_x224_request");
    note(a.relay_buffer != b.relay_buffer, "relay_buffer");
    note(a.max_sessions != b.max_sessions, "max_sessions");
    note(a.max_handshakes != b.max_handshakes, "max_handshakes");
    note(a.max_sessions_per_source != b.max_sessions_per_source, "max_sessions_per_source");
    note(a.max_handshakes_per_source != b.max_handshakes_per_source, "max_handshakes_per_source");
    note(a.connections_per_second_per_source != b.connections_per_second_per_source,
         "connections_per_second_per_source");
    note(a.idle_timeout != b.idle_timeout, "idle_timeout");
    note(a.ipv6_source_prefix != b.ipv6_source_prefix, "ipv6_source_prefix");
    note(a.keepalive != b.keepalive, "keepalive");
    return keys;
}

}  // namespace

std::shared_ptr<Generation> build_generation(std::shared_ptr<const config::Config> config,
                                             HandshakeLog& log) {
    auto g = std::make_shared<Generation>(std::move(config));
    const auto& c = *g->config;
    g->admin_credentials = read_admin(c.admin);
    for (const auto& backend : c.backends) {
        auto [it, added] =
            g->backends.try_emplace(backend.name, &backend, tls::make_backend_context(backend.tls));
        it->second.service_credentials = read_service_account(backend);
    }
    for (const auto& listener : c.listeners) {
        check_nla(listener);
        tls::CertificateFiles files;
        auto [it, added] = g->listeners.try_emplace(
            listener.name, &listener, tls::make_front_context(listener.tls, c.state_dir, &files));
        // What clients will be asked to trust: the admin has to tell users this fingerprint.
        if (auto cert =
                tls::describe_certificate(SSL_CTX_get0_certificate(it->second.front_tls.get()))) {
            log.info("listener " + listener.name + " presents " +
                     (files.generated ? "a self-signed certificate generated just now, "
                                      : "the certificate ") +
                     files.certificate.string() + " (" + cert->subject + ", sha256 " +
                     cert->sha256 + ", valid until " + cert->not_after + ")");
        }
    }
    return g;
}

Json reload_changes(const config::Config& before, const config::Config& after) {
    Json out = Json::object();
    if (auto l = named_changes(before.listeners, after.listeners); !l.empty()) out["listeners"] = l;
    if (auto b = named_changes(before.backends, after.backends); !b.empty()) out["backends"] = b;
    if (!(before.routes == after.routes))
        out["routes"] =
            std::to_string(before.routes.size()) + " -> " + std::to_string(after.routes.size());
    if (auto l = limit_changes(before.limits, after.limits); !l.empty()) out["limits"] = l;
    if (!(before.shield == after.shield)) out["shield"] = "changed";
    if (!(before.service == after.service)) out["service"] = "changed";
    // A new bind waits for a restart (restart_only_changes); new credentials apply now.
    if (before.admin.bind == after.admin.bind && !(before.admin == after.admin))
        out["admin"] = "credentials";
    return out;
}

std::vector<std::string> restart_only_changes(const config::Config& before,
                                              const config::Config& after) {
    std::vector<std::string> out;
    if (!(before.logging == after.logging))
        out.push_back("[logging] changed: the log keeps its old settings until a restart");
    if (before.state_dir != after.state_dir)
        out.push_back("state_dir changed: the gateway keeps " + before.state_dir.string() +
                      " (known hosts, generated certificates) until a restart");
    // Unset, the store follows state_dir, whose own line above names it.
    if (before.known_hosts != after.known_hosts &&
        before.known_hosts_file() != after.known_hosts_file())
        out.push_back("known_hosts changed: the gateway keeps " +
                      before.known_hosts_file().string() + " until a restart");
    if (before.admin.bind != after.admin.bind)
        out.push_back(
            "[admin] bind changed: the admin endpoint stays where it is, with the credentials it "
            "has, until a restart");
    if (before.service.workers != after.service.workers)
        out.push_back("[service] workers changed: the gateway keeps its " +
                      std::to_string(before.service.workers) +
                      " worker setting (0 = one per CPU) until a restart");
    if (before.limits.ipv6_source_prefix != after.limits.ipv6_source_prefix)
        out.push_back("[limits] ipv6_source_prefix changed: the per-source counts keep " +
                      std::to_string(before.limits.ipv6_source_prefix) + " until a restart");
    return out;
}

}  // namespace rdpbridge::proxy
