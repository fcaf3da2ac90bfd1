// The status page's review of the running gateway: the StatusBoard's history, with what only the
// gateway knows now — its configured backends and their addresses, each host's identity as the
// known-hosts store holds it, the established sessions, the admin access mode. No Asio.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/admin.hpp"
#include "proxy/status_board.hpp"
#include "proxy/trust/host_trust.hpp"

namespace rdpbridge::proxy {

struct StatusInputs {
    const StatusBoard& board;
    const config::Config& config;
    trust::HostTrust& known_hosts;
    std::vector<review::LiveSession> sessions;
    std::string access;    // "loopback only", "bearer token", "basic auth"
    std::string hostname;  // for the title
};

review::Review status_review(const StatusInputs& in, StatusBoard::Clock::time_point now);

// GET / (the page) and /api/review, /api/backends, /api/failures, /api/causes, /api/sessions,
// /api/recent (its JSON twins); 404 naming them for any other /api/ path. `review` is called
// once, for a path it answers.
AdminResponse status_response(std::string_view path, const std::function<review::Review()>& review);

// After a restart the page still shows the week: the handshake log's established sessions and
// failures of the seven days before `now`, read from the log and its rotations (oldest first),
// as if they had just been written. Returns how many events were taken.
std::size_t seed_from_log(StatusBoard& board, const config::Logging& logging,
                          StatusBoard::Clock::time_point now);

// The machine's name for the page's title.
std::string hostname();

// A host's identity as a person asks about it: is it checked, and is it the one we trust?
std::string identity_state(config::CertVerify verify, const std::optional<trust::KnownHost>& known);

}  // namespace rdpbridge::proxy
