// Scenario 1, saturated relay: the host sends fast-path output PDUs back to back while each
// client sends input PDUs back to back; the gateway's relayed bytes per CPU-second are compared
// with the record cryptography bound for the same bytes in the same directions and record sizes.
// TLS to TLS first (a Windows 7-like host), then TLS to Standard RDP Security (an XP-like host,
// RC4 or FIPS), where the gateway also does RDP's own MAC and encryption per PDU. Each TLS to TLS
// figure is also measured with a channel policy (the client's direction then read PDU by PDU for
// the whole session) and reported over the figure without, and through HAProxy too, right after
// rdpbridge's, in bare TLS (HAProxy cannot speak X.224), the two proxies' bytes per CPU-second
// compared.
#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "bench/crypto_bound.hpp"
#include "bench/pdus.hpp"
#include "bench/proc_stats.hpp"
#include "bench/proxy_under_test.hpp"
#include "bench/relay_measure.hpp"
#include "bench/scenario_util.hpp"
#include "bench/scenarios.hpp"
#include "rdp/server_security.hpp"

namespace rdpbridge::bench {

namespace {

// The peers' view of the channels must match the proxy's policy: with one, the host is asked for
// every client channel but cliprdr, and each client joins cliprdr under the gateway's own id;
// without one (HAProxy too), the host is asked for all and the gateway answers nothing.
Json check_channels(const Tally& t, std::size_t sessions, bool policy) {
    const uint64_t removed = policy ? kPolicyChannels.size() : 0;
    const uint64_t host_channels = sessions * (kClientChannels - removed);
    // Per session: the user channel, the I/O channel and the static channels the host gave.
    const uint64_t host_joins = 2 * sessions + host_channels;
    const Json seen = {{"client_static_channels", sessions * kClientChannels},
                       {"host_static_channels", t.host_static_channels},
                       {"host_channel_joins", t.host_channel_joins},
                       {"gateway_channel_joins", t.gateway_channel_joins}};
    if (t.host_static_channels != host_channels || t.host_channel_joins != host_joins ||
        t.gateway_channel_joins != sessions * removed) {
        throw std::runtime_error(
            std::string("relay: the peers' channels do not match ") +
            (policy ? "the channel policy" : "a relay without a channel policy") + ": " +
            seen.dump() + ", expected " + std::to_string(host_channels) + " host channels, " +
            std::to_string(host_joins) + " host joins, " + std::to_string(sessions * removed) +
            " joins answered by the gateway");
    }
    return seen;
}

}  // namespace

RelayMeasured measure_relay(const Bench& bench, std::size_t sessions, const RelayLeg& leg,
                            int workers, RelayThrough through, RelayTraffic traffic) {
    const auto& s = bench.settings.relay;
    const bool host_sends = traffic == RelayTraffic::both;
    Fleet fleet(bench.settings.host);
    const std::string name = std::string(through.haproxy ? "relay-haproxy-" : "relay-") +
                             (leg.id.empty() ? "" : leg.id + "-") +
                             (through.channel_policy ? "policy-" : "") +
                             (host_sends ? "" : "client-only-") + std::to_string(sessions) +
                             (workers ? "-workers-" + std::to_string(workers) : std::string()) +
                             (through.haproxy && !through.haproxy_log ? "-nolog" : "");
    if (through.haproxy && (leg.rdp_method || workers || through.channel_policy))
        throw std::invalid_argument(
            "relay through HAProxy: TLS hosts and its default threads only, no channel policy");
    if (!host_sends && !s.input_events)
        throw std::invalid_argument(
            "relay of the client's direction alone: --relay-input-events 0 sends nothing");
    auto launch = bench.gateway(name, fleet.host_port());
    if (leg.rdp_method) launch.backend_security = "rdp";
    launch.workers = workers;
    if (through.channel_policy) {
        launch.deny_channels = kPolicyChannels;
        launch.deny_devices = kPolicyDevices;
    }
    // One long session per connection: HAProxy's ssl-reuse has nothing to resume, left default.
    ProxyUnderTest proxy =
        through.haproxy
            ? ProxyUnderTest(bench.haproxy(name, fleet.host_port(), true, through.haproxy_log))
            : ProxyUnderTest(launch);
    HostProfile host;
    host.send = host_sends;
    host.output_pdu = s.output_pdu;
    host.rdp_method = leg.rdp_method;
    host.x224 = proxy.x224();
    host.client_joins = true;  // relay clients
    fleet.set_host_profile(host);
    const auto opened = fleet.open(proxy.port(), sessions, sessions,
                                   {ClientMode::relay, s.input_events, proxy.x224(), !host_sends});
    require_established(opened, sessions, fleet, std::string("relay through ") + proxy.what());
    measure_for(s.warmup_seconds);

    const Tally t0 = fleet.tally();
    const double cpu0 = cpu_seconds(proxy.pid());
    const auto wall0 = std::chrono::steady_clock::now();
    measure_for(s.seconds);
    const Tally t1 = fleet.tally();
    const double cpu1 = cpu_seconds(proxy.pid());
    const auto wall1 = std::chrono::steady_clock::now();
    proxy.check_alive();
    if (t1.failed) throw std::runtime_error("relay: " + first_errors(fleet));

    RelayMeasured m;
    m.down = t1.bytes_down - t0.bytes_down;
    m.up = t1.bytes_up - t0.bytes_up;
    m.pdus_down = t1.pdus_down - t0.pdus_down;
    m.pdus_up = t1.pdus_up - t0.pdus_up;
    m.cpu = cpu1 - cpu0;
    m.wall = std::chrono::duration<double>(wall1 - wall0).count();
    m.suites = fleet.negotiated();
    m.load = load_average();
    m.config_file = proxy.config_file();
    m.channels = check_channels(t1, sessions, through.channel_policy);
    fleet.close_all();
    proxy.stop();
    m.log = proxy.log_summary();
    if (m.cpu <= 0 || (host_sends && m.down == 0) || (s.input_events && m.up == 0))
        throw std::runtime_error("relay: no bytes or no gateway CPU time measured");
    return m;
}

namespace {

using Leg = RelayLeg;

RelayMeasured add_row(const Bench& bench, std::size_t sessions, const Leg& leg) {
    const auto& s = bench.settings.relay;
    const RelayMeasured m = measure_relay(bench, sessions, leg);
    const Suite front{m.suites.client_version, m.suites.client_cipher};
    const Suite back{m.suites.host_version, m.suites.host_cipher};
    // Down: open the host's records, seal for the client. Up: the other way round.
    const auto down = relay_bound(back, front, s.output_pdu, bench.settings.bound_seconds);
    const std::size_t input_pdu = s.input_events ? fastpath_input(s.input_events).size() : 0;
    RelayBound up;
    if (m.up) up = relay_bound(front, back, input_pdu, bench.settings.bound_seconds);
    // CPU-seconds one core would need for exactly these bytes with nothing but the crypto.
    const double bound_cpu = double(m.down) / down.bytes_per_cpu_second +
                             (m.up ? double(m.up) / up.bytes_per_cpu_second : 0.0);
    const double relayed = double(m.down + m.up);
    const double value = relayed / m.cpu / 1e6;
    const double bound = relayed / bound_cpu / 1e6;

    Row row;
    row.id =
        "relay." + (leg.id.empty() ? "" : leg.id + ".") + "sessions_" + std::to_string(sessions);
    row.figure = "relay" + (leg.id.empty() ? "" : " to " + back.cipher + " RDP security") + ", " +
                 std::to_string(sessions) + " session(s): bytes per gateway CPU-s";
    row.value = value;
    row.unit = "MB/CPU-s";
    row.bound = bound;
    row.bound_what = "EVP record crypto, 1 core";
    row.ratio = value / bound;
    // The targets: 70 % TLS to TLS, 50 % where RDP's own cryptography is added.
    const double target = leg.rdp_method ? 0.50 : 0.70;
    row.target = leg.rdp_method ? "≥ 50 %" : "≥ 70 %";
    row.met = row.ratio >= target;
    row.details = {{"sessions", sessions},
                   {"load_average_1m", m.load},
                   {"seconds", m.wall},
                   {"gateway_cpu_seconds", m.cpu},
                   {"gateway_cores_used", m.cpu / m.wall},
                   {"throughput_MB_per_s", relayed / m.wall / 1e6},
                   {"down",
                    {{"bytes", m.down},
                     {"pdus", m.pdus_down},
                     {"pdu_bytes", s.output_pdu},
                     {"bound_MB_per_cpu_s", down.bytes_per_cpu_second / 1e6},
                     {"open", down.open_with},
                     {"seal", down.seal_with}}},
                   {"up",
                    {{"bytes", m.up},
                     {"pdus", m.pdus_up},
                     {"pdu_bytes", input_pdu},
                     {"bound_MB_per_cpu_s", up.bytes_per_cpu_second / 1e6},
                     {"open", up.open_with},
                     {"seal", up.seal_with}}},
                   {"front", front.version + " " + front.cipher},
                   {"back", back.version + " " + back.cipher},
                   {"gateway_log", m.log}};
    bench.report.add(std::move(row));
    return m;
}

double per_cpu(const RelayMeasured& m) {
    return double(m.down + m.up) / m.cpu / 1e6;
}

Json describe(const RelayMeasured& m) {
    const double relayed = double(m.down + m.up);
    Json j = {{"MB_per_cpu_s", relayed / m.cpu / 1e6},
              {"bytes_down", m.down},
              {"bytes_up", m.up},
              {"seconds", m.wall},
              {"cpu_seconds", m.cpu},
              {"cores_used", m.cpu / m.wall},
              {"throughput_MB_per_s", relayed / m.wall / 1e6},
              {"down_MB_per_s", double(m.down) / m.wall / 1e6},
              {"up_MB_per_s", double(m.up) / m.wall / 1e6},
              {"load_average_1m", m.load},
              {"front", m.suites.client_version + " " + m.suites.client_cipher},
              {"back", m.suites.host_version + " " + m.suites.host_cipher},
              {"log", m.log}};
    if (!m.config_file.empty()) j["config_file"] = m.config_file;
    return j;
}

// The same sessions through HAProxy, right after rdpbridge's `ours`.
Row haproxy_row(const Bench& bench, std::size_t sessions, const RelayMeasured& ours) {
    const auto& h = bench.settings.haproxy;
    const bool logged = h.log != "off";
    const RelayMeasured theirs = measure_relay(bench, sessions, {}, 0, {true, logged});
    std::optional<RelayMeasured> unlogged;
    if (h.log == "both") unlogged = measure_relay(bench, sessions, {}, 0, {true, false});

    Row row;
    row.id = "relay.vs_haproxy.sessions_" + std::to_string(sessions);
    row.figure = "relay vs HAProxy, " + std::to_string(sessions) + " session(s): bytes per CPU-s";
    row.value = per_cpu(ours);
    row.unit = "MB/CPU-s";
    row.bound = per_cpu(theirs);
    row.bound_what = std::string("HAProxy") + (logged ? ", tcplog" : ", no log");
    row.ratio = row.value / row.bound;
    row.target = "≥ 1.0×";
    row.met = row.ratio >= 1.0;
    Json rdpbridge = describe(ours);
    rdpbridge["peers"] = "X.224, TLS 1.3 front, TLS 1.0 back";
    Json haproxy = describe(theirs);
    haproxy["version"] = h.version;
    haproxy["config"] = std::string("ssl-reuse (default), ") +
                        (logged ? "option tcplog, log stdout (one line per session)" : "no log");
    haproxy["peers"] = "bare TLS (no X.224), TLS 1.3 front, TLS 1.0 back";
    haproxy["threads"] = usable_cpus();
    row.details = {{"sessions", sessions},
                   {"pdu_bytes_down", bench.settings.relay.output_pdu},
                   {"rdpbridge", rdpbridge},
                   {"haproxy", haproxy}};
    if (unlogged) {
        Json j = describe(*unlogged);
        j["ratio"] = per_cpu(ours) / per_cpu(*unlogged);
        row.details["haproxy_without_log"] = j;
    }
    return row;
}

// One variant's rounds pooled: its bytes and CPU-seconds summed, as the handshake comparison
// pools HAProxy's rounds.
struct Pooled {
    uint64_t bytes = 0;
    double cpu = 0;
    void add(const RelayMeasured& m) {
        bytes += m.down + m.up;
        cpu += m.cpu;
    }
    double per_cpu() const { return double(bytes) / cpu / 1e6; }
};

// The channel policy's rounds for one session count and traffic: with the policy, then without,
// alternating, so that the machine's drift between two measurements (on two shared cores the
// gateway's CPU per byte moves with how much else runs) falls on both alike.
struct PolicyRounds {
    std::vector<std::pair<RelayMeasured, RelayMeasured>> rounds;  // (with, without)

    void add(RelayMeasured with, RelayMeasured without) {
        rounds.emplace_back(std::move(with), std::move(without));
    }
};

// What a channel policy costs the relay: bytes per gateway CPU-second with the policy over the
// same sessions and traffic without one, each pooled over the rounds.
Row policy_row(const Bench& bench, std::size_t sessions, RelayTraffic traffic,
               const PolicyRounds& measured) {
    const bool both = traffic == RelayTraffic::both;
    Pooled with, without;
    Json rounds = Json::array();
    Json ratios = Json::array();
    for (const auto& [w, wo] : measured.rounds) {
        with.add(w);
        without.add(wo);
        Json round = {{"with_policy", describe(w)},
                      {"without_policy", describe(wo)},
                      {"ratio", per_cpu(w) / per_cpu(wo)}};
        round["with_policy"]["channels"] = w.channels;
        round["without_policy"]["channels"] = wo.channels;
        ratios.push_back(round["ratio"]);
        rounds.push_back(std::move(round));
    }
    Row row;
    row.id = std::string("relay.channel_policy.") + (both ? "" : "client_only.") + "sessions_" +
             std::to_string(sessions);
    row.figure = std::string("relay with a channel policy") +
                 (both ? "" : ", client's direction only") + ", " + std::to_string(sessions) +
                 " session(s): bytes per gateway CPU-s";
    row.value = with.per_cpu();
    row.unit = "MB/CPU-s";
    row.bound = without.per_cpu();
    row.bound_what = "no policy, same run";
    row.ratio = row.value / row.bound;
    const std::string meaning =
        "relay.channel_policy rows: bytes relayed per gateway CPU-second with [backend.channels] "
        "deny = [\"cliprdr\"] and devices deny = [\"drive\"] (the client's direction framed and "
        "checked PDU by PDU for the whole session) over the same sessions and traffic without a "
        "policy (that direction relayed unparsed once connected), each pooled over rounds that "
        "alternate the two; 100 % = the policy costs nothing, 90 % = 10 % fewer bytes per "
        "CPU-second. client_only: the host silent, the clients' direction alone (input PDUs, "
        "each followed by rdpdr channel data), where the policy's cost is not diluted by the "
        "host's output.";
    bench.report.note(meaning);
    row.details = {
        {"sessions", sessions},
        {"traffic", both ? "both directions saturated"
                         : "the clients' input PDUs back to back, each followed by an "
                           "rdpdr Device I/O Response; the host silent"},
        {"input_pdu_bytes", fastpath_input(bench.settings.relay.input_events).size()},
        {"rdpdr_pdu_bytes", both ? 0 : rdpdr_read_response(kIoChannel + 1).size()},
        {"policy", {{"channels_deny", kPolicyChannels}, {"devices_deny", kPolicyDevices}}},
        {"meaning", meaning},
        {"with_policy",
         {{"MB_per_cpu_s", with.per_cpu()}, {"bytes", with.bytes}, {"cpu_seconds", with.cpu}}},
        {"without_policy",
         {{"MB_per_cpu_s", without.per_cpu()},
          {"bytes", without.bytes},
          {"cpu_seconds", without.cpu}}},
        {"ratio_each_round", ratios},
        {"rounds", rounds}};
    if (both) row.details["first_without_is"] = "the relay row's own measurement";
    return row;
}

}  // namespace

void run_relay(const Bench& bench) {
    const auto& s = bench.settings.relay;
    const RelayThrough policy{false, true, true};
    const std::size_t rounds = s.channel_policy ? std::max<std::size_t>(1, s.policy_rounds) : 0;
    for (std::size_t sessions : s.session_counts) {
        // The policy's first round right before the relay row, which is that round's run
        // without; HAProxy's right after the row; then the policy's other rounds.
        std::optional<RelayMeasured> first;
        if (rounds) first = measure_relay(bench, sessions, {}, 0, policy);
        const RelayMeasured ours = add_row(bench, sessions, {});
        std::optional<Row> haproxy;
        if (bench.settings.haproxy.enabled) haproxy = haproxy_row(bench, sessions, ours);
        if (rounds) {
            PolicyRounds measured;
            measured.add(std::move(*first), ours);
            for (std::size_t r = 1; r < rounds; ++r) {
                RelayMeasured with = measure_relay(bench, sessions, {}, 0, policy);
                measured.add(std::move(with), measure_relay(bench, sessions, {}));
            }
            bench.report.add(policy_row(bench, sessions, RelayTraffic::both, measured));
        }
        if (haproxy) bench.report.add(std::move(*haproxy));
    }
    // The client's direction alone, where the policy works: one session, the host silent.
    if (rounds && s.input_events) {
        constexpr auto only = RelayTraffic::client_only;
        PolicyRounds measured;
        for (std::size_t r = 0; r < rounds; ++r) {
            RelayMeasured with = measure_relay(bench, 1, {}, 0, policy, only);
            measured.add(std::move(with), measure_relay(bench, 1, {}, 0, {}, only));
        }
        bench.report.add(policy_row(bench, 1, only, measured));
    }
    for (const std::string& name : s.rdp_legs) {
        if (name == "rc4-128") add_row(bench, 1, {"rdp_rc4_128", rdp::encryption_method::bits128});
        if (name == "fips") add_row(bench, 1, {"rdp_fips", rdp::encryption_method::fips});
    }
}

}  // namespace rdpbridge::bench
