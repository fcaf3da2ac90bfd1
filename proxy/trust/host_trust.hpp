// The gateway's side of the known-hosts store: a cached view that is re-read whenever the file
// changes (so `rdpbridge hosts accept` takes effect on the next connection, with no restart),
// and the three things a session records — an identity learnt or confirmed, and a refused one.
// Sessions decide with rdp/host_identity; this class only remembers.
#pragma once

#include <sys/stat.h>

#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proxy/trust/known_hosts.hpp"

namespace rdpbridge::proxy::trust {

class HostTrust {
  public:
    explicit HostTrust(std::filesystem::path file) : store_(std::move(file)) {}

    const std::filesystem::path& file() const { return store_.file(); }

    // The entry for `backend`, if it was recorded at this address (a backend moved to another
    // address is a new host). Throws StoreError when the file cannot be read.
    std::optional<KnownHost> lookup(const std::string& backend, const std::string& address);

    // Records what the host presented (the non-empty fingerprints) and shown layers as trusted,
    // clearing any pending identity — unless the store, as it is on disk under the lock, now
    // trusts keys for this host that contradict `observed` and differ from `assumed` (what the
    // session decided from; null when nothing was recorded). Then another gateway sharing the
    // store, or another session, pinned the host meanwhile: nothing is written and that entry is
    // returned for the session to decide again. A gateway never overwrites another's pin.
    std::optional<KnownHost> learn(const std::string& backend, const std::string& address,
                                   const rdp::HostIdentity& observed,
                                   const rdp::HostIdentity* assumed);
    // A contact that matched: new layers are remembered (a host that gains NLA must keep it);
    // last_seen is refreshed, written at most hourly so the store is not rewritten per session.
    void seen(const std::string& backend, const std::string& address, rdp::SecurityLayers layers);
    // A refused attempt, kept as pending for `rdpbridge hosts accept`.
    void refuse(const std::string& backend, const std::string& address,
                const rdp::HostIdentity& observed, const std::string& cause);

  private:
    void refresh();

    Store store_;
    std::mutex mutex_;
    std::vector<KnownHost> cached_;
    struct ::stat cached_stat_ {};
    bool cached_exists_ = false;
    bool loaded_ = false;
};

}  // namespace rdpbridge::proxy::trust
