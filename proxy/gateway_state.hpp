// What every session shares with the gateway: the immutable configuration, the TLS contexts
// built from it, the handshake log, and the registry used to close sessions on shutdown.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "proxy/admission.hpp"
#include "proxy/asio.hpp"
#include "proxy/handshake_log.hpp"
#include "proxy/refusal_log.hpp"
#include "proxy/trust/host_trust.hpp"
#include "rdp/secret.hpp"
#include "tls/context.hpp"

namespace rdpbridge::proxy {

// The backend's service account, its password read from its file at start.
struct ServiceAccount {
    std::string user;
    std::string domain;
    rdp::Secret password;  // UTF-8, as in the file; never logged
};

struct BackendRuntime {
    BackendRuntime(const config::Backend* c, tls::Context ctx) : config(c), tls(std::move(ctx)) {}
    const config::Backend* config;
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
// session it closes.
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
            if (registry_) registry_->closers_.erase(id_);
        }

      private:
        SessionRegistry* registry_;
        uint64_t id_;
    };

    [[nodiscard]] Registration add(Closer closer) {
        closers_[++next_] = std::move(closer);
        return Registration(*this, next_);
    }
    std::size_t size() const { return closers_.size(); }
    // Closes every live session; each then logs its own end. A closer only closes sockets, but
    // each entry is looked up again anyway, so that one removed meanwhile is never called.
    void close_all() {
        std::vector<uint64_t> ids;
        ids.reserve(closers_.size());
        for (const auto& entry : closers_) ids.push_back(entry.first);
        for (const uint64_t id : ids) {
            const auto it = closers_.find(id);
            if (it == closers_.end()) continue;
            const Closer close = it->second;  // a copy: the call may remove the entry
            close();
        }
    }

  private:
    uint64_t next_ = 0;
    std::map<uint64_t, Closer> closers_;
};

// Per-backend facts worth one warning, not one per connection ("no NLA", "Standard RDP
// Security"). A backend that answers differently (the facts of its last connection change)
// is warned about again.
class BackendFacts {
  public:
    // The host's answer on this connection; a different one than last time starts afresh.
    void answered(const std::string& backend, uint32_t selected_protocol) {
        auto& e = entries_[backend];
        if (e.selected != selected_protocol) e = Entry{selected_protocol, {}};
    }
    // True the first time `code` is noted for `backend` since its answer last changed.
    bool note(const std::string& backend, const std::string& code) {
        return entries_[backend].warned.insert(code).second;
    }

  private:
    struct Entry {
        uint32_t selected = ~0u;
        std::set<std::string> warned;
    };
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

struct GatewayState {
    GatewayState(const config::Config& c, HandshakeLog& l)
        : config(c), log(l), admission(c.limits), known_hosts(trust::Store::in(c.state_dir)) {}
    const config::Config& config;
    HandshakeLog& log;
    std::map<std::string, BackendRuntime, std::less<>> backends;
    SessionRegistry sessions;
    Admission admission;
    trust::HostTrust known_hosts;  // verify = "tofu" backends' identities
    BackendFacts backend_facts;
    RefusalLog refusals;  // refusals at accept: one line per source and reason per window
    bool shutting_down = false;
};

}  // namespace rdpbridge::proxy
