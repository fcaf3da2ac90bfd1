#include "bench/gateway_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace rdpbridge::bench {

namespace {

constexpr std::chrono::seconds kStartLimit{60};  // the first start generates an RSA key
constexpr int kStopLimitMs = 20000;              // SIGTERM closes every session with a goodbye

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// The quick start's listener and backend, written out, with the launch's limits raised, its
// front certificate, if it brings one, its backend resumption choice, if it makes one, and its
// channel policy, if it has one.
std::filesystem::path write_config(const GatewayLaunch& launch, const std::string& admin) {
    const auto path = launch.log_dir / (launch.name + ".toml");
    std::ofstream out(path);
    out << "# rdpbridge run --listen 127.0.0.1:0 --target 127.0.0.1:" << launch.target_port
        << ", with room for the bench's sessions\n"
        << "state_dir = \"" << launch.state_dir.string() << "\"\n\n"
        << "[limits]\n";
    if (launch.max_sessions) out << "max_sessions = " << launch.max_sessions << "\n";
    if (launch.max_handshakes) out << "max_handshakes = " << launch.max_handshakes << "\n";
    if (launch.connections_per_second_per_source)
        out << "connections_per_second_per_source = " << launch.connections_per_second_per_source
            << "\n";
    out << "\n[[listener]]\nname = \"quickstart\"\nbind = \"127.0.0.1:0\"\n"
        << "default_backend = \"target\"\n";
    if (!launch.front_certificate.empty())
        out << "\n[listener.tls]\ncertificate = \"" << launch.front_certificate.string()
            << "\"\nprivate_key = \"" << launch.front_key.string() << "\"\n";
    out << "\n[[backend]]\nname = \"target\"\naddress = \"127.0.0.1:" << launch.target_port
        << "\"\n";
    if (!launch.backend_security.empty())
        out << "security = \"" << launch.backend_security << "\"\n";
    if (launch.backend_resume)
        out << "\n[backend.tls]\nresume = " << (*launch.backend_resume ? "true" : "false") << "\n";
    const auto names = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& n : v) s += (s.empty() ? "\"" : ", \"") + n + "\"";
        return "[" + s + "]";
    };
    if (!launch.deny_channels.empty() || !launch.deny_devices.empty()) {
        out << "\n[backend.channels]\n";
        if (!launch.deny_channels.empty()) out << "deny = " << names(launch.deny_channels) << "\n";
    }
    if (!launch.deny_devices.empty())
        out << "\n[backend.channels.devices]\ndeny = " << names(launch.deny_devices) << "\n";
    if (!admin.empty()) out << "\n[admin]\nbind = \"" << admin << "\"\n";
    if (!out) throw std::runtime_error("cannot write " + path.string());
    return path;
}

// rdpbridge refuses port 0 for the admin endpoint (--admin and [admin] bind alike), so the bench
// asks the OS for a free loopback port and hands that over. Another process could take it in
// between; the gateway would then fail to bind and the launch fail with its stderr.
uint16_t free_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    const int error = errno;
    close(fd);
    errno = error;
    if (!ok) fail_errno("cannot find a free loopback port for the admin endpoint");
    return ntohs(addr.sin_port);
}

}  // namespace

GatewayProcess::GatewayProcess(const GatewayLaunch& launch)
    : stderr_path_(launch.log_dir / (launch.name + ".stderr")),
      handshake_log_(launch.log_dir / (launch.name + ".handshake.jsonl")),
      wants_admin_(launch.admin) {
    std::error_code ec;
    if (!std::filesystem::exists(launch.binary, ec))
        throw std::runtime_error("rdpbridge binary not found at " + launch.binary.string() +
                                 " (build it, or give --rdpbridge / $RDPBRIDGE_BIN)");
    std::filesystem::create_directories(launch.log_dir);
    std::filesystem::remove(handshake_log_, ec);
    // An earlier run's rotations (NAME.handshake.1.jsonl ...) would be read into the status
    // page at start as well.
    for (int n = 1; n <= 5; ++n)
        std::filesystem::remove(
            launch.log_dir / (launch.name + ".handshake." + std::to_string(n) + ".jsonl"), ec);
    if (!launch.seed_log.empty()) std::filesystem::copy_file(launch.seed_log, handshake_log_);
    // Each launch meets its own synthetic host (a new certificate, maybe on a port an earlier
    // host had): trust on first use starts afresh, as a new gateway would.
    std::filesystem::remove(launch.state_dir / "known_hosts.jsonl", ec);

    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) fail_errno("pipe");
    const std::string admin =
        launch.admin ? "127.0.0.1:" + std::to_string(free_loopback_port()) : "";
    std::vector<std::string> args = {launch.binary.string(), "run"};
    if (launch.uses_config()) {
        config_path_ = write_config(launch, admin);
        args.insert(args.end(), {"--config", config_path_.string()});
    } else {
        args.insert(args.end(), {"--listen", "127.0.0.1:0", "--target",
                                 "127.0.0.1:" + std::to_string(launch.target_port), "--state-dir",
                                 launch.state_dir.string()});
        if (!launch.backend_security.empty())
            args.insert(args.end(), {"--backend-security", launch.backend_security});
        if (!admin.empty()) args.insert(args.end(), {"--admin", admin});
    }
    args.insert(args.end(), {"--handshake-log", handshake_log_.string()});
    if (launch.workers) args.insert(args.end(), {"--workers", std::to_string(launch.workers)});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    // The bench's own sockets (peer listener, sessions) must not leak into the gateway, where
    // they would count against its descriptor limit.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    if (rc != 0) {
        close(pipe_fds[0]);
        errno = rc;
        fail_errno("cannot start " + launch.binary.string());
    }
    child_.adopt(pid);
    drainer_ = std::thread([this, fd = pipe_fds[0]] { drain(fd); });

    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kStartLimit, [&] { return ready_ || eof_; });
    if (!ready_) {
        lock.unlock();
        const std::string why = stderr_tail(stderr_path_);
        stop();
        throw std::runtime_error(std::string("rdpbridge did not report 'listening on'") +
                                 (wants_admin_ ? " and 'admin endpoint on'" : "") +
                                 " (stderr tail: " + why + ")");
    }
}

GatewayProcess::~GatewayProcess() {
    stop();
}

void GatewayProcess::drain(int fd) {
    static const std::regex listening(R"(listening on 127\.0\.0\.1:(\d+))");
    static const std::regex admin(R"(admin endpoint on http://127\.0\.0\.1:(\d+))");
    std::ofstream out(stderr_path_);
    uint16_t port = 0, admin_port = 0;
    char buf[8192];
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.write(buf, n);
        if (ready_) continue;
        startup_.append(buf, std::size_t(n));
        std::smatch m;
        if (!port && std::regex_search(startup_, m, listening)) port = uint16_t(std::stoi(m[1]));
        if (!admin_port && std::regex_search(startup_, m, admin))
            admin_port = uint16_t(std::stoi(m[1]));
        if (port && (admin_port || !wants_admin_)) {
            std::lock_guard lock(mutex_);
            port_ = port;
            admin_port_ = admin_port;
            ready_ = true;
            changed_.notify_all();
        }
    }
    out.flush();
    close(fd);
    std::lock_guard lock(mutex_);
    eof_ = true;
    changed_.notify_all();
}

void GatewayProcess::check_alive() const {
    child_.require_running("rdpbridge", stderr_path_);
}

void GatewayProcess::stop() {
    child_.stop(SIGTERM, kStopLimitMs);
    if (drainer_.joinable()) drainer_.join();
}

}  // namespace rdpbridge::bench
