// What every session shares with the gateway: the immutable configuration, the TLS contexts
// built from it, the handshake log, and the registry used to close sessions on shutdown.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "proxy/admin_auth.hpp"
#include "proxy/admission.hpp"
#include "proxy/asio.hpp"
#include "proxy/blocking_pool.hpp"
#include "proxy/handshake_log.hpp"
#include "proxy/refusal_log.hpp"
#include "proxy/relay.hpp"
#include "proxy/review/review.hpp"
#include "proxy/trust/host_trust.hpp"
#include "rdp/secret.hpp"
#include "tls/context.hpp"
#include "tls/session_cache.hpp"

namespace rdpbridge::proxy {

// The backend's service account, its password read from its file at start.
struct ServiceAccount {
    std::string user;
    std::string domain;
    rdp::Secret password;  // UTF-8, as in the file; never logged
};

struct BackendRuntime {
    BackendRuntime(const config::Backend* c, tls::Context ctx) : config(c), tls(std::move(ctx)) {
        if (c->tls.resume) {
            sessions = std::make_unique<tls::SessionCache>();
            tls::SessionCache::attach(tls.get(), sessions.get());
        }
    }
    const config::Backend* config;
    // Declared before `tls`, so that it outlives the context whose callback feeds it.
    std::unique_ptr<tls::SessionCache> sessions;  // null with [backends.*.tls] resume = false
    tls::Context tls;
    std::optional<ServiceAccount> service_credentials;
};

struct ListenerRuntime {
    ListenerRuntime(const config::Listener* c, tls::Context ctx)
        : config(c), front_tls(std::move(ctx)) {}
    const config::Listener* config;
    tls::Context front_tls;
};

// The live sessions' closers, called on shutdown. A session holds its entry as a Registration,
// so the entry goes when the session goes, however it ends: a closer can never outlive the
// session it closes. An entry knows whether its session is established, so that a drain can close
// the handshakes at once and leave the sessions running. Sessions run on several worker loops:
// the registry locks, and a closer runs on its session's own loop (posted there), where it cannot
// race the session's code.
class SessionRegistry {
  public:
    using Closer = std::function<void()>;

    class Registration {
      public:
        Registration(SessionRegistry& registry, uint64_t id) : registry_(&registry), id_(id) {}
        Registration(Registration&& other) noexcept
            : registry_(std::exchange(other.registry_, nullptr)), id_(other.id_) {}
        Registration(const Registration&) = delete;
        Registration& operator=(const Registration&) = delete;
        Registration& operator=(Registration&&) = delete;
        ~Registration() {
            if (!registry_) return;
            const std::lock_guard lock(registry_->mutex_);
            registry_->entries_.erase(id_);
        }
        // `live` is what the status page shows of the session; `counters` (owned by the
        // session, which outlives this registration) its bytes so far.
        void established(review::LiveSession live, const RelayCounters* counters) {
            if (!registry_) return;
            const std::lock_guard lock(registry_->mutex_);
            auto& entry = registry_->entries_.at(id_);
            entry.established = true;
            entry.live = std::move(live);
            entry.counters = counters;
        }

      private:
        SessionRegistry* registry_;
        uint64_t id_;
    };

    // `loop` is where the session runs: its closer is called there.
    [[nodiscard]] Registration add(asio::any_io_executor loop, Closer closer) {
        const std::lock_guard lock(mutex_);
        entries_[++next_] = Entry{std::move(loop), std::move(closer), false, {}, nullptr};
        return Registration(*this, next_);
    }
    std::size_t size() const {
        const std::lock_guard lock(mutex_);
        return entries_.size();
    }
    std::size_t established() const {
        const std::lock_guard lock(mutex_);
        return established_locked();
    }
    std::size_t handshakes() const {
        const std::lock_guard lock(mutex_);
        return entries_.size() - established_locked();
    }
    // The established sessions as they are now, bytes included, oldest first.
    std::vector<review::LiveSession> live() const {
        std::vector<review::LiveSession> out;
        const std::lock_guard lock(mutex_);
        for (const auto& [id, entry] : entries_) {
            if (!entry.established) continue;
            out.push_back(entry.live);
            if (entry.counters) {
                out.back().bytes_client_to_host =
                    entry.counters->client_to_host.load(std::memory_order_relaxed);
                out.back().bytes_host_to_client =
                    entry.counters->host_to_client.load(std::memory_order_relaxed);
            }
        }
        return out;
    }
    // Closes every live session (or only those still in their handshake); each then logs its own
    // end. Each closer is posted to its session's loop, which looks the entry up again: a session
    // that ended meanwhile is never called.
    void close_all(bool handshakes_only = false) {
        std::vector<std::pair<uint64_t, asio::any_io_executor>> chosen;
        {
            const std::lock_guard lock(mutex_);
            for (const auto& [id, entry] : entries_) {
                if (!handshakes_only || !entry.established) chosen.emplace_back(id, entry.loop);
            }
        }
        for (auto& [id, loop] : chosen) {
            asio::post(loop, [this, id = id] {
                Closer close;
                {
                    const std::lock_guard lock(mutex_);
                    const auto it = entries_.find(id);
                    if (it == entries_.end()) return;
                    close = it->second.close;  // a copy: the call may remove the entry
                }
                close();
            });
        }
    }

  private:
    struct Entry {
        asio::any_io_executor loop;
        Closer close;
        bool established = false;
        review::LiveSession live;
        const RelayCounters* counters = nullptr;
    };
    std::size_t established_locked() const {
        return std::size_t(std::count_if(entries_.begin(), entries_.end(),
                                         [](const auto& e) { return e.second.established; }));
    }
    mutable std::mutex mutex_;
    uint64_t next_ = 0;
    std::map<uint64_t, Entry> entries_;
};

// Per-backend facts worth one warning, not one per connection ("no NLA", "Standard RDP
// Security"). A backend that answers differently (the facts of its last connection change)
// is warned about again.
class BackendFacts {
  public:
    // The host's answer on this connection; a different one than last time starts afresh.
    void answered(const std::string& backend, uint32_t selected_protocol) {
        const std::lock_guard lock(mutex_);
        auto& e = entries_[backend];
        if (e.selected != selected_protocol) e = Entry{selected_protocol, {}};
    }
    // True the first time `code` is noted for `backend` since its answer last changed.
    bool note(const std::string& backend, const std::string& code) {
        const std::lock_guard lock(mutex_);
        return entries_[backend].warned.insert(code).second;
    }

  private:
    struct Entry {
        uint32_t selected = ~0u;
        std::set<std::string> warned;
    };
    std::mutex mutex_;  // sessions on every worker loop note facts
    std::map<std::string, Entry, std::less<>> entries_;
};

// One admitted connection's place in the Admission counts (a handshake, then a session once
// established), given back when the ticket is destroyed: whichever way the session ends, and
// even if its coroutine never ran.
class AdmissionTicket {
  public:
    AdmissionTicket(Admission& admission, std::string source)
        : admission_(&admission), source_(std::move(source)) {}
    AdmissionTicket(AdmissionTicket&& other) noexcept
        : admission_(std::exchange(other.admission_, nullptr)),
          source_(std::move(other.source_)),
          established_(other.established_) {}
    AdmissionTicket(const AdmissionTicket&) = delete;
    AdmissionTicket& operator=(const AdmissionTicket&) = delete;
    AdmissionTicket& operator=(AdmissionTicket&&) = delete;
    ~AdmissionTicket() {
        if (admission_) admission_->finished(source_, established_);
    }

    void established() {
        if (!admission_ || established_) return;
        admission_->established(source_);
        established_ = true;
    }
    const std::string& source() const { return source_; }

  private:
    Admission* admission_;
    std::string source_;
    bool established_ = false;
};

// One loaded configuration and everything built from it (TLS contexts, service passwords). A
// session holds the generation it was accepted under until it ends: a reload makes a new one for
// new sessions and leaves established sessions untouched.
struct Generation {
    explicit Generation(std::shared_ptr<const config::Config> c) : config(std::move(c)) {}
    Generation(const Generation&) = delete;
    Generation& operator=(const Generation&) = delete;

    std::shared_ptr<const config::Config> config;  // the runtimes below point into it
    std::map<std::string, BackendRuntime, std::less<>> backends;
    std::map<std::string, ListenerRuntime, std::less<>> listeners;
    // [admin]'s credentials as its files held them when this generation was built. The admin
    // endpoint takes them only while it listens where this config says (see Gateway::reload).
    std::shared_ptr<const AdminCredentials> admin_credentials;
    uint64_t number = 1;  // 1 at start, +1 per applied reload
};

// What outlives a reload: the log, the live sessions, admission's counts, the known hosts.
// `current` and `refusals` belong to the gateway's own loop (accept, reload); everything else here
// is shared by the worker loops and guards itself.
struct GatewayState {
    GatewayState(std::shared_ptr<const Generation> g, HandshakeLog& l)
        : current(std::move(g)),
          log(l),
          admission(current->config->limits),
          known_hosts(current->config->known_hosts_file()) {}
    std::shared_ptr<const Generation> current;  // what new connections get
    HandshakeLog& log;
    SessionRegistry sessions;
    Admission admission;
    trust::HostTrust known_hosts;  // verify = "tofu" backends' identities
    BackendFacts backend_facts;
    RefusalLog refusals;  // refusals at accept: one line per source and reason per window
    std::atomic<bool> shutting_down{false};   // SIGTERM: nothing new is accepted
    BlockingPool blocking{kBlockingThreads};  // GSSAPI calls, off the worker loops

    // One thread: GSSAPI calls are serialised, as they were on the single loop before workers.
    // gss-ntlmssp is not safe to call from two threads at once: it asks libwbclient (Samba's
    // winbind client) about every NTLM authentication, which formats into a static buffer
    // (ThreadSanitizer caught two acceptors racing there). A local users file answers in
    // milliseconds; a slow KDC delays other NLA handshakes, never a relaying session.
    static constexpr std::size_t kBlockingThreads = 1;
};

}  // namespace rdpbridge::proxy
