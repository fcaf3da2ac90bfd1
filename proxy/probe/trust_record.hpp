// `rdpbridge probe --trust NAME`: what the probe saw becomes the identity the gateway trusts for
// backend NAME, as if its first contact were now (trust::HostTrust::learn), so that an operator
// who checked the fingerprints can vouch for a host before any user's connection reaches it.
// Where the store is and whether the config agrees are settled before the probe starts, so a
// typo costs no connections to the host.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "proxy/probe/findings.hpp"

namespace rdpbridge::probe {

struct TrustTarget {
    std::string backend;
    std::string address;             // "host:port", as the gateway names the backend's address
    std::filesystem::path store;     // <state_dir>/known_hosts.jsonl
    std::vector<std::string> notes;  // for stderr once recorded (e.g. no such backend yet)
    // With -c, when the config gives backend NAME (or a route to it) a channel policy.
    std::optional<ConfiguredChannelPolicy> channel_policy;
};

// Why nothing can be recorded, one line each, every one naming its file.
struct TrustError {
    std::vector<std::string> messages;
};

// The store from `config_file`'s state_dir or from `state_dir` (exactly one is set). Reads the
// store once, so that an unreadable or corrupt one is reported now rather than after the probe.
std::variant<TrustTarget, TrustError> prepare_trust(const std::string& backend,
                                                    const Target& target,
                                                    const std::string& config_file,
                                                    const std::string& state_dir);

// `backend`'s channel policy in `cfg`, and that of each [[route]] to it with its own; nullopt
// when neither has one.
std::optional<ConfiguredChannelPolicy> configured_channel_policy(const config::Config& cfg,
                                                                 const config::Backend& backend);

// Records host_identity(f) for the backend and returns what the store holds for it now. Throws
// trust::StoreError when the store cannot be read or written, std::invalid_argument when the
// probe saw nothing to record.
TrustRecord record_trust(const TrustTarget& t, const Findings& f);

}  // namespace rdpbridge::probe
