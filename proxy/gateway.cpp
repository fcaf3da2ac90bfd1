#include "proxy/gateway.hpp"

#include <grp.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <list>
#include <stdexcept>

#include "config/cidr.hpp"
#include "proxy/asio.hpp"
#include "proxy/faults.hpp"
#include "proxy/gateway_state.hpp"
#include "proxy/nla/gss.hpp"
#include "proxy/session.hpp"
#include "proxy/startup_checks.hpp"
#include "rdp/crypto.hpp"
#include "tls/inspect.hpp"

namespace rdpbridge::proxy {

namespace {

// Connection ids: a per-process random prefix (so ids from restarts do not collide in one log)
// and a counter (so ids sort by arrival).
class IdSource {
  public:
    IdSource() {
        unsigned char r[3];
        RAND_bytes(r, sizeof r);
        std::snprintf(prefix_, sizeof prefix_, "%02x%02x%02x", r[0], r[1], r[2]);
    }
    std::string next() {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s-%06llu", prefix_, ++count_);
        return buf;
    }

  private:
    char prefix_[8];
    unsigned long long count_ = 0;
};

tcp::endpoint resolve_bind(asio::io_context& io, const config::Endpoint& bind) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(bind.host, ec);
    if (!ec) return {address, bind.port};
    tcp::resolver resolver(io);
    auto results = resolver.resolve(bind.host, std::to_string(bind.port), ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve listen address " + bind.host + ": " +
                                 ec.message());
    return results.begin()->endpoint();
}

tcp::acceptor open_acceptor(asio::io_context& io, const config::Listener& listener) {
    const auto endpoint = resolve_bind(io, listener.bind);
    tcp::acceptor acceptor(io);
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        std::string fix = ec == asio::error::address_in_use
                              ? "another process uses this port; stop it or pick another port"
                          : ec == asio::error::access_denied
                              ? "ports below 1024 need CAP_NET_BIND_SERVICE (the systemd unit "
                                "grants it) or root"
                              : "check the bind address exists on this host";
        throw std::runtime_error("listener " + listener.name + ": cannot listen on " +
                                 listener.bind.host + ":" + std::to_string(listener.bind.port) +
                                 ": " + ec.message() + " — " + fix);
    }
    return acceptor;
}

// The listener's allow / deny lists, before anything else about the connection.
std::optional<rdp::Failure> source_check(const config::Listener& listener,
                                         const std::string& source) {
    if (listener.allow.empty() && listener.deny.empty()) return std::nullopt;
    const auto address = config::parse_address(source);
    if (address && config::permitted(listener.allow, listener.deny, *address)) return std::nullopt;
    return rdp::Failure{rdp::Cause::source_not_allowed,
                        source + " is not allowed on listener " + listener.name};
}

// Once a second: the refusals summarised for windows that ended, and events the handshake log
// had to drop since the last report (in the log itself, not only at exit).
awaitable<void> report_loop(GatewayState& state) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::size_t dropped_reported = 0;
    for (;;) {
        timer.expires_after(std::chrono::seconds(1));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        if (ec || state.shutting_down) co_return;
        const auto window =
            std::chrono::duration_cast<std::chrono::seconds>(state.refusals.window()).count();
        for (auto& s : state.refusals.take_due(Admission::Clock::now())) {
            state.log.write(
                Json{{"event", "refusals_summary"},
                     {"client", s.source},
                     {"cause", s.reason},
                     {"count", s.count},
                     {"window_s", window},
                     {"detail", "refused " + std::to_string(s.count) + " more connection(s) from " +
                                    s.source + " in the last " + std::to_string(window) +
                                    " s: " + s.reason}});
        }
        if (const auto dropped = state.log.dropped(); dropped > dropped_reported) {
            state.log.write(Json{{"event", "log_events_dropped"},
                                 {"count", dropped - dropped_reported},
                                 {"total", dropped},
                                 {"detail", "the handshake log could not keep up and dropped " +
                                                std::to_string(dropped - dropped_reported) +
                                                " event(s) (slow disk?)"}});
            dropped_reported = dropped;
        }
    }
}

std::string exception_text(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

// Admits one accepted connection and starts its session. Not a coroutine, so that whatever it
// throws is caught by the accept loop around it.
void start_session(GatewayState& state, const ListenerRuntime& listener, tcp::socket socket,
                   const tcp::endpoint& peer, IdSource& ids) {
    const std::string source = peer.address().to_string();
    std::string id = ids.next();
    const auto now = Admission::Clock::now();
    auto refused = source_check(*listener.config, source);
    if (!refused) refused = state.admission.admit(source, now);
    if (refused) {
        // Refused before any byte is read: the socket closes; one line per source and reason
        // per window, the rest summarised (see RefusalLog).
        const std::string reason(rdp::describe(refused->cause).id);
        if (state.refusals.first(source, reason, now)) {
            Json line{{"conn", id}, {"listener", listener.config->name}, {"client", source}};
            line.update(failure_fields(rdp::Stage::client_transport, *refused));
            state.log.write(std::move(line));
        }
        return;
    }
    AdmissionTicket ticket(state.admission, source);
    auto executor = socket.get_executor();
    // The session logs its own end; what still escapes it (the log failing) is said here rather
    // than lost, as asio::detached would lose it.
    asio::co_spawn(executor,
                   run_session(state, listener, std::move(socket), peer, id, std::move(ticket)),
                   [&state, id](std::exception_ptr e) {
                       if (e)
                           state.log.error("connection " + id +
                                           ": session ended by an exception: " + exception_text(e));
                   });
}

// Runs until the listener is closed. Nothing that happens to one connection stops it: accept
// errors are logged and waited out briefly on a timer (a client that gave up before its accept
// is not an error), and an exception while starting a session costs that session only.
awaitable<void> accept_loop(GatewayState& state, const ListenerRuntime& listener,
                            tcp::acceptor& acceptor, IdSource& ids) {
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
        boost::system::error_code ec;
        bool back_off = false;
        try {
            // The peer's address from accept(2) itself: getpeername() fails for a client that
            // reset in the meantime.
            tcp::socket socket(acceptor.get_executor());
            tcp::endpoint peer;
            co_await acceptor.async_accept(socket, peer, asio::redirect_error(use_awaitable, ec));
            if (ec == asio::error::operation_aborted || state.shutting_down) co_return;
            if (!ec) {
                start_session(state, listener, std::move(socket), peer, ids);
            } else if (ec != asio::error::connection_aborted) {
                // EMFILE and friends: keep listening; the condition is logged, not fatal. The
                // connection that could not be accepted stays queued, so accepting again at once
                // would only spin until descriptors are freed.
                state.log.warn("listener " + listener.config->name +
                               ": accept failed: " + ec.message());
                back_off = true;
            }
        } catch (const std::exception& e) {
            state.log.error("listener " + listener.config->name + ": " + e.what() +
                            "; still accepting");
            back_off = true;
        }
        if (back_off) {
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
            if (state.shutting_down) co_return;
        }
    }
}

// Each session holds two sockets; the default soft limit of 1024 descriptors would cap the
// gateway at a few hundred sessions, so raise it to the hard limit the system grants.
std::string raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return "unknown";
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return std::to_string(limit.rlim_cur);
}

// A file holding passwords must exist and be readable by the gateway's user alone: say so at
// start, with the fix, rather than at the first client. `what` names the key; `create` says
// what the file should hold.
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

// The backend's service password: the file's first line, read once at start.
std::optional<ServiceAccount> read_service_account(const config::Backend& backend) {
    if (!backend.credentials) return std::nullopt;
    const auto& c = *backend.credentials;
    const std::string what = "backend " + backend.name + ": credentials.password_file";
    auto password = read_service_password(what, c);
    if (auto* problem = std::get_if<std::string>(&password)) throw std::runtime_error(*problem);
    return ServiceAccount{c.user, c.domain, std::move(std::get<rdp::Secret>(password))};
}

// The handshake log names users and client addresses: readable by the service and, when
// [logging] group is set, by that group — never by everyone.
void prepare_log_file(const config::Logging& logging) {
    const auto& file = *logging.handshake_log;
    const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!logging.group.empty()) {
        const struct group* g = ::getgrnam(logging.group.c_str());
        if (g == nullptr)
            throw std::runtime_error("[logging] group \"" + logging.group +
                                     "\": no such group on this machine (getent group lists them)");
        // Files created in a setgid directory take its group: the log and all its rotations.
        if (::chown(dir.c_str(), uid_t(-1), g->gr_gid) != 0 || ::chmod(dir.c_str(), 02750) != 0) {
            throw std::runtime_error("[logging] group: cannot give " + dir.string() + " to group " +
                                     logging.group + ": " + std::strerror(errno) +
                                     " (the service must own the log directory)");
        }
        if (::chown(file.c_str(), uid_t(-1), g->gr_gid) != 0 && errno != ENOENT)
            throw std::runtime_error("[logging] group: cannot give " + file.string() +
                                     " to group " + logging.group + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 0137) != 0)
        ::chmod(file.c_str(), st.st_mode & 0640);
}

}  // namespace

int run_gateway(const config::Config& config) {
    // The handshake log names users and client addresses: not for every local account. Files
    // this process creates (logs and their rotations) are 0640 at most, state files 0600; the
    // log directory's group (setgid, e.g. adm) decides who may read them.
    ::umask(027);
    if (config.logging.handshake_log) prepare_log_file(config.logging);
    HandshakeLog log(config.logging.handshake_log, config.logging.level,
                     config.logging.rotate_size_mb << 20, config.logging.rotate_files);
    GatewayState state(config, log);
    if (config.logging.handshake_log)
        log.info("handshake log (JSON Lines): " + config.logging.handshake_log->string());
    else
        log.info("no handshake log file: failures go to stderr only");
    if (auto problem = legacy_crypto_problem(config, rdp::crypto::legacy_provider_problem))
        throw std::runtime_error(*problem);
    // Relay buffers live only while bytes are in flight (an idle session holds none), so a busy
    // session allocates and frees ~64 KiB per read. glibc would hand the freed top of the heap
    // back to the kernel each time and fault it in again on the next read (a sixth of the
    // relay's CPU in perf); keeping up to 32 MiB of free heap stops that ping-pong.
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (auto armed = load_fault_plan()) log.warn(*armed);
    log.info("file descriptor limit " + raise_descriptor_limit() + "; up to " +
             std::to_string(config.limits.max_sessions) + " sessions and " +
             std::to_string(config.limits.max_handshakes) + " concurrent handshakes");
    for (const auto& backend : config.backends) {
        auto [it, added] = state.backends.try_emplace(backend.name, &backend,
                                                      tls::make_backend_context(backend.tls));
        it->second.service_credentials = read_service_account(backend);
    }
    for (const auto& warning : config::warnings(config)) log.warn(warning);
    if (std::any_of(config.backends.begin(), config.backends.end(),
                    [](const auto& b) { return b.tls.verify == config::CertVerify::tofu; })) {
        // A store that cannot be read would refuse every session: say so now, with its line.
        const auto known = trust::Store(state.known_hosts.file()).read();
        log.info("known hosts: " + state.known_hosts.file().string() + " (" +
                 std::to_string(known.size()) + " recorded; trust on first use)");
    }
    asio::io_context io(1);
    std::list<ListenerRuntime> listeners;
    std::list<tcp::acceptor> acceptors;
    IdSource ids;
    for (const auto& listener : config.listeners) {
        check_nla(listener);
        tls::CertificateFiles files;
        listeners.emplace_back(&listener,
                               tls::make_front_context(listener.tls, config.state_dir, &files));
        // What clients will be asked to trust: the admin has to tell users this fingerprint.
        if (auto cert = tls::describe_certificate(
                SSL_CTX_get0_certificate(listeners.back().front_tls.get()))) {
            log.info("listener " + listener.name + " presents " +
                     (files.generated ? "a self-signed certificate generated just now, "
                                      : "the certificate ") +
                     files.certificate.string() + " (" + cert->subject + ", sha256 " +
                     cert->sha256 + ", valid until " + cert->not_after + ")");
        }
        acceptors.push_back(open_acceptor(io, listener));
        const auto local = acceptors.back().local_endpoint();
        log.info("listening on " + local.address().to_string() + ":" +
                 std::to_string(local.port()) + " (listener " + listener.name +
                 ", default backend " +
                 (listener.default_backend.empty() ? "none" : listener.default_backend) + ")");
        asio::co_spawn(io, accept_loop(state, listeners.back(), acceptors.back(), ids),
                       asio::detached);
    }
    asio::co_spawn(io, report_loop(state), asio::detached);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        state.shutting_down = true;
        log.info(std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") +
                 ", closing " + std::to_string(state.sessions.size()) + " session(s)");
        for (auto& a : acceptors) a.close();
        state.sessions.close_all();
    });
    io.run();
    if (const auto lost = log.dropped())
        log.warn(std::to_string(lost) +
                 " handshake log event(s) were dropped: the log could not "
                 "keep up (slow disk?)");
    // Every handshake and session gave its admission slot back: "0 and 0" is what a clean
    // shutdown looks like, and what tests assert after a churn of failing connections.
    const auto handshakes = state.admission.handshakes();
    const auto sessions = state.admission.sessions();
    log.info("at exit: " + std::to_string(handshakes) + " handshake(s) and " +
             std::to_string(sessions) + " session(s) still counted by admission");
    log.write(
        Json{{"event", "gateway_stopped"}, {"handshakes", handshakes}, {"sessions", sessions}});
    log.info("stopped");
    log.flush();
    return 0;
}

}  // namespace rdpbridge::proxy
