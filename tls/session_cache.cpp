#include "tls/session_cache.hpp"

#include <algorithm>

namespace rdpbridge::tls {

namespace {

// Where a context keeps its cache, and an SSL the session it was offered.
int context_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int offer_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

bool single_use(const SSL_SESSION* session) {
    return SSL_SESSION_get_protocol_version(session) >= TLS1_3_VERSION;
}

}  // namespace

SessionCache::~SessionCache() {
    for (SSL_SESSION* s : sessions_) SSL_SESSION_free(s);
}

void SessionCache::attach(SSL_CTX* ctx, SessionCache* cache) {
    SSL_CTX_set_ex_data(ctx, context_index(), cache);
    // Our store only: OpenSSL's internal client cache is keyed by nothing we could pick by.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &SessionCache::on_new_session);
    // Tickets too (RFC 5077): Windows 7's Schannel resumes by session ID, Server 2012 and later
    // and OpenSSL hosts by ticket. The ClientHello gains an empty SessionTicket extension, one
    // more among the several OpenSSL always sends.
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
}

int SessionCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* cache =
        static_cast<SessionCache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
    if (!cache || !SSL_SESSION_is_resumable(session)) return 0;  // OpenSSL keeps its reference
    cache->store(session);
    return 1;  // the reference is ours now
}

void SessionCache::store(SSL_SESSION* session) {
    std::lock_guard lock(mutex_);
    sessions_.push_front(session);
    while (sessions_.size() > capacity_) {
        SSL_SESSION_free(sessions_.back());
        sessions_.pop_back();
    }
}

bool SessionCache::offer(SSL* ssl) {
    SSL_SESSION* session = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (sessions_.empty()) return false;
        session = sessions_.front();
        if (single_use(session)) {
            sessions_.pop_front();  // our reference moves to this connection
        } else {
            SSL_SESSION_up_ref(session);
        }
    }
    const bool set = SSL_set_session(ssl, session) == 1;  // takes a reference of its own
    if (set) SSL_set_ex_data(ssl, offer_index(), session);
    SSL_SESSION_free(session);
    return set;
}

void SessionCache::settle(SSL* ssl, bool handshake_ok) {
    auto* offered = static_cast<SSL_SESSION*>(SSL_get_ex_data(ssl, offer_index()));
    if (!offered) return;
    SSL_set_ex_data(ssl, offer_index(), nullptr);
    // `offered` is only compared, never dereferenced: after a decline OpenSSL has replaced the
    // connection's session and dropped its reference, and the cache may have evicted it too.
    if (handshake_ok && SSL_session_reused(ssl)) return;
    std::lock_guard lock(mutex_);
    auto it = std::find(sessions_.begin(), sessions_.end(), offered);
    if (it == sessions_.end()) return;
    SSL_SESSION_free(*it);
    sessions_.erase(it);
}

std::size_t SessionCache::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

}  // namespace rdpbridge::tls
