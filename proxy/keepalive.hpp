// TCP keepalive on a session's sockets ([limits] keepalive). Without it a peer that vanishes
// without closing (unplugged, powered off, its network gone) holds the session, its descriptors
// and its admission slot until the other side happens to speak.
//
// With keepalive = K: the first probe after K of silence (TCP_KEEPIDLE), then one every K/6 but
// at least every second (TCP_KEEPINTVL), and the peer is given up after 4 unanswered probes
// (TCP_KEEPCNT): about 1.7 × K, never more than K + 4 s for small K. TCP_USER_TIMEOUT is set to
// the same total, so the bound also holds while data is in flight towards the vanished peer
// (keepalive probes only run on an idle connection; retransmissions would take ~15 minutes).
// The pending read or write then fails with ETIMEDOUT, which the relay reports as
// `peer_vanished`.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

#include "config/config.hpp"
#include "proxy/asio.hpp"

namespace rdpbridge::proxy {

inline constexpr int kKeepaliveProbes = 4;

struct KeepaliveTimes {
    int idle_s;
    int interval_s;
    int probes;
    unsigned user_timeout_ms;
};

inline KeepaliveTimes keepalive_times(config::Duration keepalive) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(keepalive).count();
    const int idle = int(std::max<long long>(1, s));
    const int interval = std::max(1, idle / 6);
    return {idle, interval, kKeepaliveProbes, unsigned(idle + kKeepaliveProbes * interval) * 1000u};
}

// Failures are ignored: the session still works, it only loses the early detection of a vanished
// peer.
inline void set_keepalive(int fd, config::Duration keepalive) {
    const KeepaliveTimes t = keepalive_times(keepalive);
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &t.idle_s, sizeof t.idle_s);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &t.interval_s, sizeof t.interval_s);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &t.probes, sizeof t.probes);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &t.user_timeout_ms, sizeof t.user_timeout_ms);
}

// A zero keepalive leaves the socket as it is.
inline void apply_keepalive(tcp::socket& socket, config::Duration keepalive) {
    if (keepalive.count() == 0 || !socket.is_open()) return;
    set_keepalive(socket.native_handle(), keepalive);
}

// The same options, and TCP_NODELAY, on a listening socket: Linux copies them to every socket it
// accepts, which saves six system calls per session. Applied again on reload, since listening
// sockets outlive their configuration; a zero keepalive turns keepalive off here.
inline void apply_to_accepted(tcp::acceptor& acceptor, config::Duration keepalive) {
    if (!acceptor.is_open()) return;
    boost::system::error_code ignored;
    acceptor.set_option(tcp::no_delay(true), ignored);
    const int fd = acceptor.native_handle();
    if (keepalive.count() == 0) {
        const int off = 0;
        const unsigned none = 0;
        ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &off, sizeof off);
        ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &none, sizeof none);
        return;
    }
    set_keepalive(fd, keepalive);
}

}  // namespace rdpbridge::proxy
