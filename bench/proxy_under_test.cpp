#include "bench/proxy_under_test.hpp"

#include <fstream>
#include <sstream>

namespace rdpbridge::bench {

namespace {

std::string text(const Json& event, const char* key) {
    const auto it = event.find(key);
    return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Counts in rdpbridge's handshake log (complete lines only; the scenarios' logs are far below
// the size at which the gateway rotates them).
Json count_gateway_log(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string all = buffer.str();
    std::size_t established = 0, backend_tls = 0, resumed = 0, unparsed = 0;
    std::size_t with_policy = 0, removing = 0, dropped = 0;
    std::size_t from = 0;
    for (std::size_t nl; (nl = all.find('\n', from)) != std::string::npos; from = nl + 1) {
        const auto event =
            Json::parse(all.begin() + long(from), all.begin() + long(nl), nullptr, false);
        if (event.is_discarded() || !event.is_object()) {
            ++unparsed;
            continue;
        }
        const std::string name = text(event, "event");
        if (name == "session_established") {
            ++established;
            if (event.contains("channel_policy")) ++with_policy;
        } else if (name == "bridge") {
            const auto r = event.find("channels_removed");
            if (r != event.end() && r->is_array() && !r->empty()) ++removing;
        } else if (name == "session_closed") {
            const auto d = event.find("channel_pdus_dropped");
            if (d != event.end() && d->is_number_unsigned()) dropped += d->get<std::size_t>();
        } else if (name == "stage" && text(event, "stage") == "backend_tls") {
            ++backend_tls;
            const auto r = event.find("tls_resumed");
            if (r != event.end() && r->is_boolean() && r->get<bool>()) ++resumed;
        }
    }
    return {{"file", path.string()},
            {"session_established", established},
            {"backend_tls", backend_tls},
            {"backend_tls_resumed", resumed},
            {"sessions_with_channel_policy", with_policy},
            {"sessions_removing_channels", removing},
            {"channel_pdus_dropped", dropped},
            {"unparsed_lines", unparsed}};
}

}  // namespace

ProxyUnderTest::ProxyUnderTest(const GatewayLaunch& launch)
    : gateway_(std::make_unique<GatewayProcess>(launch)) {}

ProxyUnderTest::ProxyUnderTest(const HaproxyLaunch& launch)
    : haproxy_(std::make_unique<HaproxyProcess>(launch)) {}

pid_t ProxyUnderTest::pid() const {
    return gateway_ ? gateway_->pid() : haproxy_->pid();
}

uint16_t ProxyUnderTest::port() const {
    return gateway_ ? gateway_->port() : haproxy_->port();
}

void ProxyUnderTest::check_alive() const {
    if (gateway_)
        gateway_->check_alive();
    else
        haproxy_->check_alive();
}

void ProxyUnderTest::stop() {
    if (gateway_)
        gateway_->stop();
    else
        haproxy_->stop();
}

Json ProxyUnderTest::log_summary() const {
    if (gateway_) return count_gateway_log(gateway_->handshake_log());
    const auto count = haproxy_->count_log();
    return {{"file", haproxy_->log_path().string()},
            {"sessions", count.sessions},
            {"terminations", count.terminations}};
}

}  // namespace rdpbridge::bench
