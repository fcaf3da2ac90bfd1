// The known-hosts store: what the gateway has learnt of each backend's identity (trust on first
// use, like OpenSSH's known_hosts). One JSON object per line in <state_dir>/known_hosts.jsonl,
// mode 0600, so an operator can read and diff it; written atomically (temp file, fsync,
// rename) under an advisory lock on a sibling file, so that the gateway and `rdpbridge hosts`
// never interleave and a crash leaves the previous store intact. No Asio: plain file I/O.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rdp/host_identity.hpp"

namespace rdpbridge::proxy::trust {

// The identity of the last attempt that was refused (changed key, downgrade, first use under
// tofu_first_use = "refuse"): what `rdpbridge hosts accept` makes the trusted identity.
struct PendingIdentity {
    rdp::HostIdentity identity;
    std::string seen;   // RFC 3339 UTC
    std::string cause;  // the handshake_failed cause
};

struct KnownHost {
    std::string backend;  // [[backend]] name
    std::string address;  // "host:port" as configured; a new address is a new host
    rdp::HostIdentity identity;
    std::string first_seen;  // RFC 3339 UTC
    std::string last_seen;
    std::optional<PendingIdentity> pending;

    bool trusted() const {
        return !identity.tls_cert_sha256.empty() || !identity.rdp_key_sha256.empty() ||
               !identity.layers.empty();
    }
};

// A store that cannot be read: names the file and, for a bad line, the line.
class StoreError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Text <-> entries. parse() throws StoreError "FILE:LINE: what is wrong".
std::vector<KnownHost> parse(std::string_view text, const std::string& file);
std::string serialize(const std::vector<KnownHost>& hosts);

// RFC 3339 UTC of the current time, as the store writes it.
std::string now_rfc3339();

class Store {
  public:
    explicit Store(std::filesystem::path file);
    static std::filesystem::path in(const std::filesystem::path& state_dir) {
        return state_dir / "known_hosts.jsonl";
    }
    const std::filesystem::path& file() const { return file_; }

    // Every entry; a missing file is an empty store. Throws StoreError.
    std::vector<KnownHost> read() const;
    // Read-modify-write under the lock: `edit` sees the entries as they are on disk now and
    // changes them; the result is written atomically (mode 0600). Throws StoreError.
    void update(const std::function<void(std::vector<KnownHost>&)>& edit);

    // Test seam: runs after the temporary file is written and synced, before the rename.
    std::function<void()> before_rename;

  private:
    std::filesystem::path file_;
};

KnownHost* find(std::vector<KnownHost>& hosts, std::string_view backend);
const KnownHost* find(const std::vector<KnownHost>& hosts, std::string_view backend);

}  // namespace rdpbridge::proxy::trust
