// Client-side TLS sessions of one backend, kept so that the next connection to that host can
// resume instead of repeating the full handshake. A resumed TLS 1.0 handshake skips the host's
// RSA decryption and certificate: on an old host's CPU and on ours it is the most expensive
// step of a session's start.
//
// Bounded (the newest `capacity` sessions), per backend context, and shared by every worker
// loop, so it locks. Sessions come from OpenSSL's new-session callback rather than from
// SSL_get1_session() after the handshake, because a TLS 1.3 host sends its tickets afterwards.
// TLS 1.3 tickets are used once (RFC 8446 C.4: reuse lets a passive observer link
// connections); TLS 1.0-1.2 session IDs are what Windows 7's Schannel resumes, and may be offered
// again while the host honours them.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <deque>
#include <mutex>

namespace rdpbridge::tls {

class SessionCache {
  public:
    explicit SessionCache(std::size_t capacity = 16) : capacity_(capacity) {}
    ~SessionCache();
    SessionCache(const SessionCache&) = delete;
    SessionCache& operator=(const SessionCache&) = delete;

    // Makes `ctx` hand its new client sessions to `cache`, which must outlive it, and accept
    // tickets.
    static void attach(SSL_CTX* ctx, SessionCache* cache);

    // Before the handshake: offers the newest session, if any. The offer is remembered on
    // `ssl` for settle().
    bool offer(SSL* ssl);
    // After the handshake: a session the host declined, or failed the handshake on, is not
    // offered again.
    void settle(SSL* ssl, bool handshake_ok);

    std::size_t size() const;

  private:
    static int on_new_session(SSL* ssl, SSL_SESSION* session);
    void store(SSL_SESSION* session);

    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<SSL_SESSION*> sessions_;  // newest first; each holds one reference
};

}  // namespace rdpbridge::tls
