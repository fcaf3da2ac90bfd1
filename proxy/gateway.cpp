#include "proxy/gateway.hpp"

#include <grp.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <list>
#include <stdexcept>

#include "config/cidr.hpp"
#include "proxy/admin.hpp"
#include "proxy/asio.hpp"
#include "proxy/faults.hpp"
#include "proxy/gateway_state.hpp"
#include "proxy/generation.hpp"
#include "proxy/keepalive.hpp"
#include "proxy/metrics.hpp"
#include "proxy/sd_notify.hpp"
#include "proxy/session.hpp"
#include "proxy/startup_checks.hpp"
#include "proxy/status_page.hpp"
#include "proxy/workers.hpp"
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

// `what` names the socket in errors ("listener main", "[admin]").
tcp::acceptor open_acceptor(asio::io_context& io, const std::string& what,
                            const config::Endpoint& bind) {
    const auto endpoint = resolve_bind(io, bind);
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
        throw std::runtime_error(what + ": cannot listen on " + bind.host + ":" +
                                 std::to_string(bind.port) + ": " + ec.message() + " — " + fix);
    }
    return acceptor;
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

// Admits one accepted connection and starts its session under the current generation, on the
// worker loop `loop` the socket already belongs to. Not a coroutine, so that whatever it throws
// is caught by the accept loop around it. Admission happens here, on the gateway's loop, before
// the hand-over: a refused connection costs no worker anything.
void start_session(GatewayState& state, Workers& workers, std::size_t loop,
                   const std::string& listener_name, tcp::socket socket, const tcp::endpoint& peer,
                   IdSource& ids) {
    auto generation = state.current;
    const auto found = generation->listeners.find(listener_name);
    if (found == generation->listeners.end()) return;  // removed by a reload a moment ago
    const ListenerRuntime& listener = found->second;
    const std::string source = peer.address().to_string();
    std::string id = ids.next();
    const auto now = Admission::Clock::now();
    // Behind load balancers the source here is a balancer: allow/deny and admission wait for
    // the client's own address in its PROXY header (the session admits itself then).
    const bool proxied = listener.config->proxy_protocol;
    auto refused = proxied ? proxy_source_check(*listener.config, source)
                           : source_check(*listener.config, source);
    if (!refused && !proxied) refused = state.admission.admit(source, now);
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
    std::optional<AdmissionTicket> ticket;
    if (!proxied) ticket.emplace(state.admission, source);
    // The assignment counts the session on its loop until the session's coroutine is gone.
    auto assignment = workers.assign(loop);
    auto session = [assignment, &state, generation = std::move(generation), &listener,
                    moved = std::move(socket), peer, id,
                    ticket = std::move(ticket)]() mutable -> awaitable<void> {
        co_await run_session(state, std::move(generation), listener, std::move(moved), peer, id,
                             std::move(ticket));
    };
    // The session logs its own end; what still escapes it (the log failing) is said here rather
    // than lost, as asio::detached would lose it.
    asio::co_spawn(assignment.executor(), std::move(session), [&state, id](std::exception_ptr e) {
        if (e)
            state.log.error("connection " + id +
                            ": session ended by an exception: " + exception_text(e));
    });
}

// A listening socket. Keyed by its bind address, not its listener's name, so that a reload that
// renames a listener keeps the socket (and its queue) instead of failing to bind a second one.
struct OpenListener {
    std::string name;  // the listener of the current generation it accepts for
    tcp::acceptor acceptor;
};

// Runs until the listener is closed. Nothing that happens to one connection stops it: accept
// errors are logged and waited out briefly on a timer (a client that gave up before its accept
// is not an error), and an exception while starting a session costs that session only.
awaitable<void> accept_loop(GatewayState& state, Workers& workers,
                            std::shared_ptr<OpenListener> open, IdSource& ids) {
    auto& acceptor = open->acceptor;
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
        boost::system::error_code ec;
        bool back_off = false;
        try {
            // The peer's address from accept(2) itself: getpeername() fails for a client that
            // reset in the meantime. The socket is accepted straight onto the worker loop that
            // will run the session: moving it there afterwards would register the descriptor
            // with two epoll sets, and unregister it from one, for every connection.
            const std::size_t loop = workers.least_loaded();
            tcp::socket socket(workers.executor(loop));
            tcp::endpoint peer;
            co_await acceptor.async_accept(socket, peer, asio::redirect_error(use_awaitable, ec));
            if (ec == asio::error::operation_aborted || state.shutting_down || !acceptor.is_open())
                co_return;
            if (!ec) {
                start_session(state, workers, loop, open->name, std::move(socket), peer, ids);
            } else if (ec != asio::error::connection_aborted) {
                // EMFILE and friends: keep listening; the condition is logged, not fatal. The
                // connection that could not be accepted stays queued, so accepting again at once
                // would only spin until descriptors are freed.
                state.log.warn("listener " + open->name + ": accept failed: " + ec.message());
                back_off = true;
            }
        } catch (const std::exception& e) {
            state.log.error("listener " + open->name + ": " + e.what() + "; still accepting");
            back_off = true;
        }
        if (back_off) {
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
            if (state.shutting_down || !acceptor.is_open()) co_return;
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

namespace {

// [service] workers, 0 meaning one per CPU this process may use.
int worker_count(int configured) {
    return configured > 0 ? configured : available_cpus();
}

std::string bind_key(const config::Listener& l) {
    return l.bind.host + "|" + std::to_string(l.bind.port);
}

// The gateway once started: its listening sockets, the current generation, and what signals do
// (SIGHUP reloads; SIGTERM/SIGINT drain, a second one closes at once).
class Gateway {
  public:
    Gateway(std::shared_ptr<const Generation> first, HandshakeLog& log, ConfigSource source)
        : state_(std::move(first), log),
          log_(log),
          source_(std::move(source)),
          notifier_(SystemdNotifier::from_environment()),
          signals_(io_, SIGINT, SIGTERM, SIGHUP),
          drain_timer_(io_),
          watchdog_timer_(io_),
          metrics_(RDPBRIDGE_VERSION),
          workers_(worker_count(state_.current->config->service.workers)) {
        log_.observe([this](const Json& event) {
            metrics_.on_event(event);
            board_.on_event(event, std::chrono::system_clock::now());
        });
    }
    ~Gateway() {
        workers_.stop();
        log_.observe(nullptr);
    }
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    int run() {
        if (state_.current->config->admin.bind) seed_status_page();
        for (const auto& listener : state_.current->config->listeners) {
            auto open = open_listener(listener);
            apply_to_accepted(open->acceptor, state_.current->config->limits.keepalive);
            open_.emplace(bind_key(listener), open);
            asio::co_spawn(io_, accept_loop(state_, workers_, open, ids_), asio::detached);
        }
        asio::co_spawn(io_, report_loop(state_), asio::detached);
        log_.info(std::to_string(workers_.size()) +
                  " worker loop(s) run sessions ([service] workers" +
                  (state_.current->config->service.workers == 0 ? ": one per CPU" : "") + ")");
        if (const auto& bind = state_.current->config->admin.bind) open_admin(*bind);
        wait_for_signal();
        write_pid_file();
        notifier_.notify("READY=1\nSTATUS=" + status());
        if (auto interval = notifier_.watchdog_interval()) watchdog(*interval);
        io_.run();
        workers_.stop();  // every session has ended: the loops have nothing left to run
        remove_pid_file();
        return 0;
    }

  private:
    std::shared_ptr<OpenListener> open_listener(const config::Listener& listener) {
        auto open = std::make_shared<OpenListener>(OpenListener{
            listener.name, open_acceptor(io_, "listener " + listener.name, listener.bind)});
        const auto local = open->acceptor.local_endpoint();
        log_.info("listening on " + local.address().to_string() + ":" +
                  std::to_string(local.port()) + " (listener " + listener.name +
                  ", default backend " +
                  (listener.default_backend.empty() ? "none" : listener.default_backend) + ")");
        return open;
    }

    // [admin] bind: /metrics, /healthz, /readyz. Kept open through a drain, so that /readyz can
    // tell a load balancer to stop sending; closed with the last session.
    void open_admin(const config::Endpoint& bind) {
        admin_.emplace(open_acceptor(io_, "[admin] bind", bind));
        admin_bind_ = bind;
        const auto local = admin_->local_endpoint();
        admin_endpoint_.handler = [this](std::string_view target) { return answer_admin(target); };
        admin_endpoint_.credentials = state_.current->admin_credentials;
        admin_endpoint_.log = &log_;
        log_.info("admin endpoint on http://" + local.address().to_string() + ":" +
                  std::to_string(local.port()) + " (/metrics, /healthz, /readyz; access: " +
                  std::string(config::to_string(admin_access())) + ")");
        asio::co_spawn(io_, admin_accept_loop(*admin_, admin_endpoint_), asio::detached);
    }

    // Who may read the admin pages now: what the status page says ("loopback only", "bearer
    // token", "basic auth" through config::to_string). The credentials in force, which after a
    // reload that moved [admin] bind are still those the endpoint was opened with.
    config::AdminAccess admin_access() const {
        return admin_endpoint_.credentials ? admin_endpoint_.credentials->access()
                                           : config::AdminAccess::loopback_only;
    }

    AdminResponse answer_admin(std::string_view target) {
        const auto path = admin_path(target);
        if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
        if (path == "/readyz") {
            if (state_.shutting_down)
                return {503, "text/plain; charset=utf-8", "draining: accepting nothing new\n"};
            return {200, "text/plain; charset=utf-8", "ready\n"};
        }
        if (path == "/" || path.starts_with("/api/")) return answer_status(path);
        if (path == "/metrics") {
            metrics_.set_handshakes_in_progress(state_.sessions.handshakes());
            metrics_.set_draining(state_.shutting_down);
            metrics_.set_worker_load(workers_.load());
            return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render()};
        }
        return {404, "text/plain; charset=utf-8",
                "not found; try /, /metrics, /healthz or /readyz\n"};
    }

    // Before the first connection, so that the page's history is in order: the week the log
    // already holds. Only the two kinds of event the page keeps are parsed, so even a full set
    // of rotations (5 x 50 MB) takes seconds, once, at start.
    void seed_status_page() {
        const auto started = std::chrono::steady_clock::now();
        const std::size_t n = seed_from_log(board_, state_.current->config->logging,
                                            std::chrono::system_clock::now());
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        char text[160];
        std::snprintf(text, sizeof text,
                      "status page: %zu events of the last 7 days read from the handshake log in "
                      "%.2f s",
                      n, took.count());
        log_.info(text);
    }

    // The status page and its JSON twins, as the gateway is now.
    AdminResponse answer_status(std::string_view path) {
        return status_response(path, [this] {
            return status_review(
                StatusInputs{board_, *state_.current->config, state_.known_hosts,
                             state_.sessions.live(), std::string(config::to_string(admin_access())),
                             hostname()},
                std::chrono::system_clock::now());
        });
    }

    std::string status() const {
        return std::to_string(state_.sessions.established()) + " session(s), " +
               std::to_string(state_.sessions.handshakes()) + " handshake(s) in progress" +
               (state_.shutting_down ? ", draining" : "");
    }

    void wait_for_signal() {
        signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
            if (ec) return;
            if (signo == SIGHUP) {
                reload();
            } else if (!state_.shutting_down) {
                begin_stop(signo == SIGINT ? "SIGINT" : "SIGTERM");
            } else {
                log_.info(std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") +
                          " again: closing " + std::to_string(state_.sessions.size()) +
                          " session(s) now");
                state_.sessions.close_all();
            }
            wait_for_signal();
        });
    }

    // Nothing new is accepted; handshakes in progress end now; established sessions may go on
    // for drain_timeout, then are closed (reason "shutdown").
    void begin_stop(const std::string& signal) {
        state_.shutting_down = true;
        notifier_.notify("STOPPING=1");
        for (auto& [key, open] : open_) {
            boost::system::error_code ignored;
            open->acceptor.close(ignored);
        }
        open_.clear();
        const auto drain = state_.current->config->service.drain_timeout;
        const std::size_t live = state_.sessions.established();
        if (drain == config::Duration::zero() || live == 0) {
            log_.info("received " + signal + ", closing " + std::to_string(state_.sessions.size()) +
                      " session(s)");
            state_.sessions.close_all();
        } else {
            log_.info(
                "received " + signal + ": accepting nothing new; " + std::to_string(live) +
                " session(s) may go on for up to " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(drain).count()) +
                " s ([service] drain_timeout; " + signal + " again closes them now)");
            state_.sessions.close_all(/*handshakes_only=*/true);
            drain_timer_.expires_after(drain);
            drain_timer_.async_wait([this](const boost::system::error_code& ec) {
                if (ec) return;
                log_.info("drain_timeout reached: closing " +
                          std::to_string(state_.sessions.size()) + " session(s)");
                state_.sessions.close_all();
            });
        }
        asio::co_spawn(io_, stop_when_idle(), asio::detached);
    }

    // The loop ends once every session has: nothing else may keep it running.
    awaitable<void> stop_when_idle() {
        asio::steady_timer tick(io_);
        while (state_.sessions.size() > 0) {
            tick.expires_after(std::chrono::milliseconds(50));
            co_await tick.async_wait(use_awaitable);
        }
        boost::system::error_code ignored;
        signals_.cancel(ignored);
        drain_timer_.cancel();
        watchdog_timer_.cancel();
        if (admin_) admin_->close(ignored);
    }

    // Pings only while every loop answers (this one runs the timer; each worker runs a probe
    // posted at the previous tick): a loop stuck in one session stops the pings, and systemd
    // restarts the service at WatchdogSec.
    void watchdog(std::chrono::microseconds interval) {
        if (workers_.every_loop_answered()) {
            notifier_.notify("WATCHDOG=1");
            notifier_.notify("STATUS=" + status());
        } else {
            log_.error("a worker loop has not answered for " +
                       std::to_string(interval.count() / 1000) +
                       " ms: no watchdog ping (under systemd the service is restarted at "
                       "WatchdogSec)");
            notifier_.notify("STATUS=" + status() + ", a worker loop is stuck");
        }
        watchdog_timer_.expires_after(interval);
        watchdog_timer_.async_wait([this, interval](const boost::system::error_code& ec) {
            if (ec || state_.shutting_down) return;
            watchdog(interval);
        });
    }

    // SIGHUP: read and check the whole file first; only a config that passes everything
    // check-config checks, and builds (certificates, password files), replaces the running one.
    void reload() {
        notifier_.notify(SystemdNotifier::reloading_state());
        const auto failed = [this](Json errors) {
            for (const auto& e : errors) log_.warn("reload: " + e.get<std::string>());
            log_.write(Json{{"event", "config_reload_failed"},
                            {"generation", state_.current->number},
                            {"errors", std::move(errors)},
                            {"detail", "the running configuration stays in effect"}});
            notifier_.notify("READY=1\nSTATUS=" + status());
        };
        if (state_.shutting_down) return failed(Json::array({"the gateway is stopping"}));
        if (!source_)
            return failed(
                Json::array({"started without a config file (quick start): nothing "
                             "to reload; restart with --config to change settings"}));
        auto loaded = source_();
        if (auto* errors = std::get_if<std::vector<config::LoadError>>(&loaded)) {
            Json list = Json::array();
            for (const auto& e : *errors) list.push_back(e.to_string());
            return failed(std::move(list));
        }
        auto config =
            std::make_shared<const config::Config>(std::get<config::Config>(std::move(loaded)));
        std::shared_ptr<Generation> next;
        std::map<std::string, std::shared_ptr<OpenListener>> opened;
        try {
            next = build_generation(config, log_);
            next->number = state_.current->number + 1;
            for (const auto& listener : config->listeners) {
                const auto key = bind_key(listener);
                if (!open_.contains(key)) opened.emplace(key, open_listener(listener));
            }
        } catch (const std::exception& e) {
            for (auto& [key, open] : opened) {
                boost::system::error_code ignored;
                open->acceptor.close(ignored);
            }
            return failed(Json::array({std::string(e.what())}));
        }
        const auto& before = *state_.current->config;
        for (const auto& w : restart_only_changes(before, *config)) log_.warn("reload: " + w);
        Json changes = reload_changes(before, *config);
        // Sockets of listeners that are gone close; those kept follow their listener's new name.
        for (auto it = open_.begin(); it != open_.end();) {
            const auto kept =
                std::find_if(config->listeners.begin(), config->listeners.end(),
                             [&](const config::Listener& l) { return bind_key(l) == it->first; });
            if (kept == config->listeners.end()) {
                boost::system::error_code ignored;
                it->second->acceptor.close(ignored);
                it = open_.erase(it);
            } else {
                it->second->name = kept->name;
                ++it;
            }
        }
        state_.admission.set_limits(config->limits);
        state_.current = next;
        // New credentials guard the endpoint only where the new config has it listen: one that
        // moved (a restart applies that) keeps the credentials it was opened with, or a move to
        // loopback without them would leave the old, wider address open.
        if (admin_ && config->admin.bind == admin_bind_) {
            admin_endpoint_.credentials = next->admin_credentials;
            if (const auto& file = config->admin.token_file ? config->admin.token_file
                                                            : config->admin.basic_auth_file)
                log_.info("admin endpoint: " + std::string(config::to_string(admin_access())) +
                          " from " + file->string() + ", read again");
        }
        for (auto& [key, open] : opened) {
            open_.emplace(key, open);
            asio::co_spawn(io_, accept_loop(state_, workers_, open, ids_), asio::detached);
        }
        // Kept and new listening sockets alike: their options are what accepted sockets inherit.
        for (auto& [key, open] : open_) apply_to_accepted(open->acceptor, config->limits.keepalive);
        for (const auto& warning : config::warnings(*config)) log_.warn(warning);
        log_.info("configuration reloaded (generation " + std::to_string(next->number) +
                  "): " + (changes.empty() ? std::string("nothing changed") : changes.dump()) +
                  "; " + std::to_string(state_.sessions.size()) +
                  " live session(s) keep the configuration they started with");
        log_.write(Json{{"event", "config_reloaded"},
                        {"generation", next->number},
                        {"changes", std::move(changes)},
                        {"live_sessions", state_.sessions.size()}});
        notifier_.notify("READY=1\nSTATUS=" + status());
    }

    // `rdpbridge reload` finds the process here (the unit uses $MAINPID instead).
    std::filesystem::path pid_file() const {
        return state_.current->config->state_dir / "rdpbridge.pid";
    }
    void write_pid_file() {
        std::error_code ec;
        std::filesystem::create_directories(pid_file().parent_path(), ec);
        std::ofstream out(pid_file(), std::ios::trunc);
        if (out) out << ::getpid() << "\n";
        if (!out || !out.flush()) {
            log_.warn("cannot write " + pid_file().string() +
                      ": rdpbridge reload will not find this process (kill -HUP still works)");
            return;
        }
        pid_path_ = pid_file();
    }
    void remove_pid_file() {
        std::error_code ignored;
        if (!pid_path_.empty()) std::filesystem::remove(pid_path_, ignored);
    }

    asio::io_context io_{1};
    GatewayState state_;
    HandshakeLog& log_;
    ConfigSource source_;
    SystemdNotifier notifier_;
    IdSource ids_;
    std::map<std::string, std::shared_ptr<OpenListener>> open_;  // by bind_key
    asio::signal_set signals_;
    asio::steady_timer drain_timer_;
    asio::steady_timer watchdog_timer_;
    std::filesystem::path pid_path_;
    Metrics metrics_;
    StatusBoard board_;
    std::optional<tcp::acceptor> admin_;
    std::optional<config::Endpoint> admin_bind_;  // where admin_ listens, whatever reloads say
    AdminEndpoint admin_endpoint_;
    // Last: its loops run sessions that use everything above, so it stops first.
    Workers workers_;

  public:
    GatewayState& state() { return state_; }
};

}  // namespace

int run_gateway(const config::Config& initial, ConfigSource source) {
    // The handshake log names users and client addresses: not for every local account. Files
    // this process creates (logs and their rotations) are 0640 at most, state files 0600; the
    // log directory's group (setgid, e.g. adm) decides who may read them.
    ::umask(027);
    auto config = std::make_shared<const config::Config>(initial);
    if (config->logging.handshake_log) prepare_log_file(config->logging);
    HandshakeLog log(config->logging.handshake_log, config->logging.level,
                     config->logging.rotate_size_mb << 20, config->logging.rotate_files);
    if (config->logging.handshake_log)
        log.info("handshake log (JSON Lines): " + config->logging.handshake_log->string());
    else
        log.info("no handshake log file: failures go to stderr only");
    if (auto problem = legacy_crypto_problem(*config, rdp::crypto::legacy_provider_problem))
        throw std::runtime_error(*problem);
    // Relay buffers live only while bytes are in flight (an idle session holds none), so a busy
    // session allocates and frees ~64 KiB per read. glibc would hand the freed top of the heap
    // back to the kernel each time and fault it in again on the next read (a sixth of the
    // relay's CPU in perf); keeping up to 32 MiB of free heap stops that ping-pong.
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (auto armed = load_fault_plan()) log.warn(*armed);
    log.info("file descriptor limit " + raise_descriptor_limit() + "; up to " +
             std::to_string(config->limits.max_sessions) + " sessions and " +
             std::to_string(config->limits.max_handshakes) + " concurrent handshakes");
    auto first = build_generation(config, log);
    for (const auto& warning : config::warnings(*config)) log.warn(warning);
    Gateway gateway(std::move(first), log, std::move(source));
    auto& state = gateway.state();
    if (std::any_of(config->backends.begin(), config->backends.end(),
                    [](const auto& b) { return b.tls.verify == config::CertVerify::tofu; })) {
        // A store that cannot be read would refuse every session: say so now, with its line.
        const auto known = trust::Store(state.known_hosts.file()).read();
        log.info("known hosts: " + state.known_hosts.file().string() + " (" +
                 std::to_string(known.size()) + " recorded; trust on first use)");
    }
    gateway.run();
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
