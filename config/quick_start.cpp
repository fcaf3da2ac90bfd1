// The quick-start flags: a Config built without any TOML, judged by the same value checks as a
// config file so that a bad --target reads like a bad address = "...".
#include "config/load.hpp"

#include <string>
#include <utility>

#include "config/checks.hpp"
#include "config/endpoint.hpp"

namespace rdpbridge::config {

LoadResult from_quick_start(const QuickStart& q) {
    std::vector<LoadError> errors;
    const auto flag_error = [&](std::string flag, std::string message) {
        errors.push_back(LoadError{flag, 0, 0, flag, std::move(message)});
    };

    Listener listener;
    listener.name = "quickstart";

    Backend backend;

    if (q.listen.empty()) {
        flag_error("--listen", "is required: where to accept RDP clients, e.g. 0.0.0.0:3389");
    } else if (auto problem = check_endpoint(q.listen, true, listener.bind)) {
        flag_error("--listen", std::move(*problem));
    }
    if (q.target.empty()) {
        flag_error("--target", "is required: the RDP host to forward to, e.g. 192.0.2.7:3389");
    } else if (auto problem = check_endpoint(q.target, false, backend.address)) {
        flag_error("--target", std::move(*problem));
    }
    if (auto problem = check_choice(q.backend_security, kSecurityChoices, "a backend security mode",
                                    backend.security)) {
        flag_error("--backend-security", std::move(*problem));
    }

    Config config;
    config.quick_start = true;
    if (q.handshake_log && q.handshake_log->empty()) {
        flag_error("--handshake-log",
                   "must not be empty; leave the flag out for <state dir>/handshake.jsonl, or "
                   "give \"-\" for no JSON log (stderr only)");
    }
    if (q.nla_users && q.nla_users->empty()) {
        flag_error("--nla-users", "must not be empty; leave the flag out for TLS without NLA");
    }
    if (!q.admin.empty()) {
        Endpoint admin;
        if (auto problem = check_endpoint(q.admin, false, admin)) {
            flag_error("--admin", std::move(*problem));
        } else if (auto exposed = admin_exposure_problem(admin)) {
            // The flags have no way to give credentials; a config file does.
            flag_error("--admin", *exposed + "; give a loopback address such as 127.0.0.1:" +
                                      std::to_string(admin.port) +
                                      ", or run from a config file whose [admin] sets "
                                      "token_file or basic_auth_file");
        } else {
            config.admin.bind = admin;
        }
    }
    if (q.state_dir && q.state_dir->empty()) {
        flag_error("--state-dir",
                   "must not be empty; leave the flag out to use " + config.state_dir.string());
    }
    if (!errors.empty()) return errors;

    // Named after the host, so that logs and the known-hosts store of quick starts in front of
    // different hosts stay apart.
    backend.name = backend.address.host.find(':') != std::string::npos
                       ? "[" + backend.address.host + "]:" + std::to_string(backend.address.port)
                       : backend.address.host + ":" + std::to_string(backend.address.port);
    listener.default_backend = backend.name;
    if (q.state_dir) config.state_dir = *q.state_dir;
    // A JSON log by default: it is what `rdpbridge logs` reads; "-" asks for none.
    if (!q.handshake_log)
        config.logging.handshake_log = config.state_dir / "handshake.jsonl";
    else if (*q.handshake_log != "-")
        config.logging.handshake_log = q.handshake_log;
    if (q.nla_users) {
        listener.nla = NlaMode::offer;
        listener.nla_users = q.nla_users;
    }
    config.listeners.push_back(std::move(listener));
    config.backends.push_back(std::move(backend));
    return config;
}

}  // namespace rdpbridge::config
