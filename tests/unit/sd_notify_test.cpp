// systemd's notify protocol, spoken to a datagram socket the test binds (proxy/sd_notify.hpp).
#include "proxy/sd_notify.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "temp_dir.hpp"

using rdpbridge::proxy::SystemdNotifier;

namespace {

// A bound AF_UNIX datagram socket: what systemd listens on.
class Manager {
  public:
    explicit Manager(const std::string& address) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, address.data(), address.size());
        if (a.sun_path[0] == '@') a.sun_path[0] = '\0';
        const auto len = socklen_t(offsetof(sockaddr_un, sun_path) + address.size());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0) ADD_FAILURE() << "bind";
    }
    ~Manager() { ::close(fd_); }
    std::string next() {
        char buf[512];
        const auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        return n < 0 ? std::string("(nothing)") : std::string(buf, std::size_t(n));
    }

  private:
    int fd_ = -1;
};

class Env {
  public:
    Env(const char* name, const std::string& value) : name_(name) {
        ::setenv(name, value.c_str(), 1);
    }
    ~Env() { ::unsetenv(name_); }

  private:
    const char* name_;
};

}  // namespace

TEST(SystemdNotifier, OutsideSystemdDoesNothing) {
    ::unsetenv("NOTIFY_SOCKET");
    const auto n = SystemdNotifier::from_environment();
    EXPECT_FALSE(n.enabled());
    n.notify("READY=1");  // no socket, no crash
    EXPECT_FALSE(n.watchdog_interval());
}

TEST(SystemdNotifier, SendsEachStateAsOneDatagramToAPath) {
    rdpbridge::test_support::TempDir dir;
    const std::string path = (dir.path() / "notify").string();
    Manager manager(path);
    const Env socket("NOTIFY_SOCKET", path);
    const Env usec("WATCHDOG_USEC", "30000000");
    const auto n = SystemdNotifier::from_environment();
    ASSERT_TRUE(n.enabled());
    n.notify("READY=1\nSTATUS=0 session(s)");
    n.notify("STOPPING=1");
    EXPECT_EQ(manager.next(), "READY=1\nSTATUS=0 session(s)");
    EXPECT_EQ(manager.next(), "STOPPING=1");
    // Half of WatchdogSec=, as sd_watchdog_enabled(3) advises.
    EXPECT_EQ(n.watchdog_interval(), std::chrono::microseconds(15000000));
}

TEST(SystemdNotifier, AbstractSocketAndAWatchdogMeantForAnotherProcess) {
    const std::string name = "@rdpbridge-test-" + std::to_string(::getpid());
    Manager manager(name);
    const Env socket("NOTIFY_SOCKET", name);
    const Env usec("WATCHDOG_USEC", "1000000");
    const Env pid("WATCHDOG_PID", std::to_string(::getpid() + 1));
    const auto n = SystemdNotifier::from_environment();
    n.notify(SystemdNotifier::reloading_state());
    EXPECT_EQ(manager.next().rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u);
    EXPECT_FALSE(n.watchdog_interval());  // WATCHDOG_PID names someone else
}

TEST(SystemdNotifier, IgnoresAnAddressThatIsNotSystemds) {
    const Env socket("NOTIFY_SOCKET", "relative/path");
    EXPECT_FALSE(SystemdNotifier::from_environment().enabled());
}
