#include "bench/haproxy_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace rdpbridge::bench {

namespace {

constexpr int kInheritedFd = 3;  // `bind fd@3`
constexpr int kStopLimitMs = 10000;

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void require_binary(const std::filesystem::path& binary) {
    if (access(binary.c_str(), X_OK) != 0)
        throw std::runtime_error("haproxy not found at " + binary.string() +
                                 ": apt-get install haproxy (or give --haproxy PATH, or skip the "
                                 "comparison with --no-haproxy)");
}

// A listening TCP socket on 127.0.0.1 with a port the OS picked, never on descriptor 3 (so that
// dup2 onto 3 in the child clears its close-on-exec flag).
int listen_socket(uint16_t& port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket");
    if (fd == kInheritedFd) {
        const int moved = fcntl(fd, F_DUPFD_CLOEXEC, kInheritedFd + 1);
        close(fd);
        if (moved < 0) fail_errno("fcntl(F_DUPFD_CLOEXEC)");
        fd = moved;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const int e = errno;
        close(fd);
        errno = e;
        fail_errno("HAProxy's listening socket");
    }
    port = ntohs(address.sin_port);
    return fd;
}

// Starts `args` with stdin from /dev/null, stdout and stderr to `out` and `err` (descriptors of
// the bench, dup'ed), `listen_fd` (if any) as descriptor 3 and nothing else of the bench's open.
pid_t spawn(const std::vector<std::string>& args, int out, int err, int listen_fd) {
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out, 1);
    posix_spawn_file_actions_adddup2(&actions, err, 2);
    if (listen_fd >= 0) posix_spawn_file_actions_adddup2(&actions, listen_fd, kInheritedFd);
    posix_spawn_file_actions_addclosefrom_np(&actions, listen_fd >= 0 ? kInheritedFd + 1 : 3);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        errno = rc;
        fail_errno("cannot start " + args[0]);
    }
    return pid;
}

// Runs `args` to completion; returns its exit status (-1: killed) and what it printed.
std::pair<int, std::string> run_captured(const std::vector<std::string>& args, int listen_fd = -1) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) fail_errno("pipe");
    pid_t pid = -1;
    try {
        pid = spawn(args, pipe_fds[1], pipe_fds[1], listen_fd);
    } catch (...) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        throw;
    }
    close(pipe_fds[1]);
    std::string output;
    char buf[4096];
    for (;;) {
        const ssize_t n = read(pipe_fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        output.append(buf, std::size_t(n));
    }
    close(pipe_fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// HAProxy reads certificate and key from one file; the key makes it 0600.
void write_pem(const HaproxyLaunch& launch) {
    const std::string both = read_all(launch.front_certificate) + read_all(launch.front_key);
    if (both.find("PRIVATE KEY") == std::string::npos)
        throw std::runtime_error(
            "front certificate or key missing: " + launch.front_certificate.string() + ", " +
            launch.front_key.string());
    const int fd =
        open(launch.pem.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) fail_errno("cannot write " + launch.pem.string());
    const bool ok =
        fchmod(fd, 0600) == 0 && write(fd, both.data(), both.size()) == ssize_t(both.size());
    const int e = errno;
    close(fd);
    errno = e;
    if (!ok) fail_errno("cannot write " + launch.pem.string());
}

}  // namespace

std::string haproxy_config(const HaproxyLaunch& launch, int fd) {
    std::ostringstream c;
    c << "# HAProxy beside rdpbridge in rdpbridge's bench (bench/haproxy_process.cpp): the same\n"
      << "# front certificate, the same TLS 1.0 host, mode tcp; peers speak bare TLS to it.\n"
      << "global\n"
      << "    nbthread " << launch.threads << "\n";
    if (launch.log) c << "    log stdout format raw local0\n";
    c << "\ndefaults\n"
      << "    mode tcp\n";
    if (launch.log) c << "    log global\n    option tcplog\n";
    c << "    timeout connect 10s\n"
      << "    timeout client 60s\n"
      << "    timeout server 60s\n"
      << "\nfrontend rdp\n"
      // The listening socket the bench made and HAProxy inherited.
      << "    bind fd@" << fd << " ssl crt " << launch.pem.string() << " ssl-min-ver TLSv1.2\n"
      << "    default_backend host\n"
      << "\nbackend host\n"
      // OpenSSL 3 refuses TLS 1.0 (SHA-1 and MD5 in its PRF) above security level 0.
      << "    server host 127.0.0.1:" << launch.target_port
      << " ssl verify none ssl-min-ver TLSv1.0 ssl-max-ver TLSv1.0 ciphers "
      << launch.backend_ciphers << ":@SECLEVEL=0" << (launch.ssl_reuse ? "" : " no-ssl-reuse")
      << "\n";
    return c.str();
}

std::string haproxy_version(const std::filesystem::path& binary) {
    require_binary(binary);
    const auto [status, output] = run_captured({binary.string(), "-v"});
    const std::string first = output.substr(0, output.find('\n'));
    if (status != 0 || first.empty())
        throw std::runtime_error(binary.string() + " -v failed: " + output);
    return first;
}

HaproxyProcess::HaproxyProcess(const HaproxyLaunch& launch)
    : config_path_(launch.log_dir / (launch.name + ".haproxy.cfg")),
      stderr_path_(launch.log_dir / (launch.name + ".haproxy.stderr")),
      log_path_(launch.log_dir / (launch.name + ".haproxy.log")) {
    require_binary(launch.binary);
    std::filesystem::create_directories(launch.log_dir);
    write_pem(launch);

    const int listen_fd = listen_socket(port_);
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{listen_fd};
    {
        std::ofstream out(config_path_);
        out << haproxy_config(launch, kInheritedFd);
        if (!out) throw std::runtime_error("cannot write " + config_path_.string());
    }
    // A config HAProxy refuses fails here, with its reasons, rather than as refused sessions.
    const auto [status, output] =
        run_captured({launch.binary.string(), "-c", "-q", "-f", config_path_.string()}, listen_fd);
    if (status != 0)
        throw std::runtime_error("haproxy refuses " + config_path_.string() + ": " + output);

    const int out = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || err < 0) {
        if (out >= 0) close(out);
        if (err >= 0) close(err);
        fail_errno("cannot open HAProxy's log files in " + launch.log_dir.string());
    }
    try {
        child_.adopt(spawn({launch.binary.string(), "-db", "-f", config_path_.string()}, out, err,
                           listen_fd));
    } catch (...) {
        close(out);
        close(err);
        throw;
    }
    close(out);
    close(err);
    // The Closer drops the bench's copy of the listening socket: HAProxy holds the only one.
}

HaproxyProcess::~HaproxyProcess() {
    stop();
}

void HaproxyProcess::check_alive() const {
    child_.require_running("haproxy", stderr_path_);
}

void HaproxyProcess::stop() {
    child_.stop(SIGUSR1, kStopLimitMs);
}

HaproxyProcess::LogCount HaproxyProcess::count_log() const {
    // option tcplog: "CLIENT:PORT [DATE] FRONTEND~ BACKEND/SERVER Tw/Tc/Tt BYTES STATE ..."
    LogCount c;
    std::istringstream in(read_all(log_path_));
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string client, date, frontend, server, timers, bytes, state;
        fields >> client >> date >> frontend >> server >> timers >> bytes >> state;
        if (frontend != "rdp~" || state.empty()) continue;
        ++c.sessions;
        ++c.terminations[state];
    }
    return c;
}

}  // namespace rdpbridge::bench
