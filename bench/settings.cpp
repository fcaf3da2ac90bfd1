#include "bench/settings.hpp"

namespace rdpbridge::bench {

void Settings::apply_smoke() {
    smoke = true;
    bound_seconds = 0.2;
    relay.session_counts = {1};
    relay.warmup_seconds = 0.3;
    relay.seconds = 1;
    relay.policy_rounds = 1;
    idle.sessions = 50;
    idle.settle_seconds = 0.2;
    idle.seconds = 1;
    handshake.max_sessions = 20;
    haproxy.rounds = 1;
    handshake.seconds = 30;  // an upper limit only: 20 sessions take well under a second
    latency.sessions = 5;
    latency.warmup_seconds = 0.3;
    latency.seconds = 1;
    logging.warmup_seconds = 0.3;
    logging.seconds = 1;
    logging.flood_connections = 50;
    status.events = 2000;
    status.renders = 5;
    status.api_renders = 2;
}

}  // namespace rdpbridge::bench
