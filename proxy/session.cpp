// The session follows the handshake in order — client X.224, routing, front TLS (and NLA), backend
// TCP, backend X.224, backend TLS (and NLA) — then hands both streams to the relay; a backend with
// early_host_contact moves the backend TCP and X.224 before the client's Connection Confirm. Each
// step either completes, logging a `stage` event with its duration and facts, or throws a
// HandshakeError that becomes exactly one `handshake_failed` line; anything else thrown becomes
// one too, as an internal_error (or a `session_closed` saying so, once established).
#include "proxy/session.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <optional>

#include "config/channel_policy.hpp"
#include "proxy/channel_policy.hpp"
#include "proxy/faults.hpp"
#include "proxy/keepalive.hpp"
#include "proxy/logs/review_builder.hpp"
#include "proxy/nla_leg.hpp"
#include "proxy/quick_start_hints.hpp"
#include "proxy/relay.hpp"
#include "proxy/routing.hpp"
#include "proxy/tls_stream.hpp"
#include "proxy/transport_errors.hpp"
#include "proxy/trust/host_trust.hpp"
#include "proxy/trust/share.hpp"
#include "proxy/watchdog.hpp"
#include "rdp/first_bytes.hpp"
#include "rdp/host_identity.hpp"
#include "rdp/negotiation.hpp"
#include "rdp/proxy_header.hpp"
#include "rdp/tpkt.hpp"
#include "tls/diagnose.hpp"
#include "tls/inspect.hpp"

namespace rdpbridge::proxy {

namespace {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using rdp::Cause;
using rdp::Stage;

constexpr std::size_t kMaxConfirm = 512;  // a Connection Confirm is 19 bytes
constexpr int kCertificateWarningDays = 30;

struct HandshakeError {
    Stage stage;
    rdp::Failure failure;
};

// A balancer's health check on an RDP listener: it connected and closed without a PROXY header,
// or sent a LOCAL one (the balancer speaking for itself) and closed. Not a client, so not a
// failed handshake: it gets its own event.
struct BalancerCheck {
    std::optional<int> proxy_protocol;  // the header's version, if one came
};

double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

rdp::BackSecurity to_rdp(config::BackendSecurity s) {
    switch (s) {
        case config::BackendSecurity::tls:
            return rdp::BackSecurity::tls;
        case config::BackendSecurity::rdp:
            return rdp::BackSecurity::rdp;
        case config::BackendSecurity::automatic:
            break;
    }
    return rdp::BackSecurity::automatic;
}

rdp::FrontNla to_rdp(config::NlaMode m) {
    switch (m) {
        case config::NlaMode::offer:
            return rdp::FrontNla::offer;
        case config::NlaMode::require:
            return rdp::FrontNla::require;
        case config::NlaMode::off:
            break;
    }
    return rdp::FrontNla::off;
}

bool is_nla(uint32_t selected) {
    return selected == rdp::protocol::hybrid || selected == rdp::protocol::hybrid_ex;
}

std::string endpoint_text(const tcp::endpoint& ep) {
    const auto addr = ep.address();
    return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" +
           std::to_string(ep.port());
}

Json tls_facts(const tls::SessionFacts& f) {
    Json j{{"tls_version", f.version}, {"cipher", f.cipher}, {"tls_resumed", f.resumed}};
    if (f.peer) {
        j["cert_subject"] = f.peer->subject;
        j["cert_not_after"] = f.peer->not_after;
        j["cert_days_left"] = f.peer->days_left;
        j["cert_sha256"] = f.peer->sha256;
    }
    return j;
}

class Session {
  public:
    Session(GatewayState& gateway, std::shared_ptr<const Generation> generation,
            const ListenerRuntime& listener, tcp::socket client, tcp::endpoint peer, std::string id,
            std::optional<AdmissionTicket> ticket)
        : gateway_(gateway),
          generation_(std::move(generation)),
          listener_(listener),
          id_(std::move(id)),
          peer_(peer),
          ticket_(std::move(ticket)),
          client_(std::move(client)),
          backend_(client_.get_executor()),
          resolver_(client_.get_executor()),
          deadline_(client_.get_executor()),
          connect_deadline_(client_.get_executor()),
          registration_(gateway.sessions.add(client_.get_executor(), [this] {
              stopped_by_gateway_ = true;
              close_all();
          })) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    // Only a coroutine frame destroyed while suspended (the event loop torn down under it) gets
    // here without its terminal event; it still gets one.
    ~Session() {
        if (ended_) return;
        try {
            end_abruptly(Cause::gateway_shutting_down,
                         "the gateway stopped while this connection was in progress");
        } catch (...) {
        }
    }

    awaitable<void> run();

  private:
    awaitable<rdp::ConnectionRequest> read_client_request();
    awaitable<rdp::ProxyHeader> read_proxy_header();
    awaitable<void> admit_proxied_client();
    awaitable<bool> closes_without_a_word();
    std::string route(const rdp::ConnectionRequest& request);
    awaitable<void> connect_backend(const BackendRuntime& backend);
    awaitable<rdp::BackendAgreement> negotiate_backend(const BackendRuntime& backend,
                                                       const rdp::ConnectionRequest& request,
                                                       bool offer_hybrid);
    awaitable<rdp::credssp::PasswordCredentials> accept_front_nla(TlsStream& front,
                                                                  uint32_t front_selected,
                                                                  rdp::Bytes& client_rest);
    awaitable<void> connect_backend_nla(TlsStream& back, const BackendRuntime& backend,
                                        uint32_t back_selected,
                                        rdp::credssp::PasswordCredentials credentials);
    awaitable<void> refuse_client(rdp::NegFailureCode code);
    awaitable<tls::SessionFacts> accept_front_tls(TlsStream& front);
    awaitable<tls::SessionFacts> connect_backend_tls(TlsStream& back,
                                                     const BackendRuntime& backend);
    awaitable<rdp::Bytes> read_tpkt(tcp::socket& socket, Peer peer, Stage stage, std::size_t max);
    template <class HostStream>
    awaitable<RelayResult> bridge(
        TlsStream& front, HostStream& host, const rdp::BridgeParams& params, rdp::Bytes client_rest,
        std::optional<rdp::credssp::PasswordCredentials> auto_logon = std::nullopt);
    void on_bridge_fact(const rdp::Fact& f);
    void log_channels(const std::string& fact);
    void log_channel_refused(const std::string& fact);
    rdp::Failure unestablished_failure(const RelayResult& r) const;

    void stage_done(Stage stage, Json facts = Json::object());
    void warning(const std::string& code, const std::string& text, Json facts = Json::object());
    // A fact about the backend rather than this connection: warned once per backend (and again
    // after the fact changed), later connections log it as a repeat (stderr at debug only).
    void backend_warning(const std::string& code, const std::string& text);

    // Host identity (verify = "tofu" keeps it in the known-hosts store).
    bool tofu() const { return backend_policy().verify == config::CertVerify::tofu; }
    const config::BackendTls& backend_policy() const { return backend_runtime_->config->tls; }
    rdp::HostHistory host_history() const;
    void check_tls_identity(const tls::SessionFacts& facts);
    void on_rdp_key(const std::string& sha256);
    void remember_refusal(const std::string& cause);
    bool pinned_meanwhile(Stage stage);
    void identity_learned(const std::string& what);
    template <class F>
    void with_store(Stage stage, F&& f);
    void log_accepted(Json extra = Json::object());
    void log_failure(const HandshakeError& e);
    void log_balancer_check(const BalancerCheck& check);
    void log_closed(const RelayResult& r);
    void end_abruptly(Cause cause, const std::string& detail);
    static rdp::Failure shutdown_failure() {
        return {Cause::gateway_shutting_down, "the gateway is stopping (SIGTERM or SIGINT)"};
    }
    // Marks the start of a stage: what an unexpected exception is attributed to, and where a
    // faults build (-DRDPBRIDGE_FAULTS=ON) may inject one.
    void enter(Stage stage) {
        stage_ = stage;
        fault_point(stage, id_);
    }
    void close_all();

    // The configuration this connection was accepted under, kept to its end: a reload does not
    // change a session that is under way.
    const config::Config& config() const { return *generation_->config; }

    GatewayState& gateway_;
    std::shared_ptr<const Generation> generation_;
    const ListenerRuntime& listener_;  // within generation_
    std::string id_;
    tcp::endpoint peer_;  // as accept(2) gave it: known even if the client is already gone
    // Given at accept; behind a load balancer, taken once the PROXY header named the client.
    std::optional<AdmissionTicket> ticket_;
    tcp::socket client_;
    tcp::socket backend_;
    tcp::resolver resolver_;
    Watchdog deadline_;
    bool awaiting_licensing_ = false;  // the deadline runs on until the host's licensing is done
    Watchdog connect_deadline_;
    // Members, not locals of run(): close_all() reaches them for as long as the session exists.
    std::optional<TlsStream> front_stream_;
    std::optional<TlsStream> back_stream_;
    TlsStream* front_tls_ = nullptr;
    TlsStream* back_tls_ = nullptr;
    Stage stage_ = Stage::client_x224;  // in progress
    bool ended_ = false;                // the one terminal event is logged
    // Closed by the gateway's shutdown: whatever the sockets then report, that is why it ended.
    bool stopped_by_gateway_ = false;
    bool accepted_logged_ = false;
    Clock::time_point started_ = Clock::now();
    Clock::time_point stage_started_ = started_;
    std::string backend_name_;
    const config::Route* route_ = nullptr;  // in generation_'s config, which the session holds
    const BackendRuntime* backend_runtime_ = nullptr;
    std::string backend_address_;            // "host:port" as configured: the store's key
    std::optional<trust::KnownHost> known_;  // what the store held when the session began
    // Set when another gateway pinned the host's RDP key while this session met another one.
    std::optional<rdp::Failure> identity_conflict_;
    rdp::HostIdentity observed_;         // what the host presented in this session
    Json established_ = Json::object();  // filled as facts arrive, logged once established
    bool established_logged_ = false;
    Json rdp_counts_ = Json::object();
    std::string host_error_info_;  // the host's last Set Error Info, if any
    // Who, for the status page: the mstshash cookie, replaced by the NLA user once known.
    std::string user_;
    // Read through the registry by the status page: declared before registration_, so they
    // outlive the entry that points at them.
    RelayCounters relay_counters_;
    // Last: destroyed first, so the shutdown closer goes before anything it touches.
    SessionRegistry::Registration registration_;
};

void Session::stage_done(Stage stage, Json facts) {
    Json e{{"conn", id_},
           {"event", "stage"},
           {"stage", std::string(rdp::to_string(stage))},
           {"ms", std::round(ms_since(stage_started_) * 100) / 100}};
    e.update(facts);
    gateway_.log.write(std::move(e));
    stage_started_ = Clock::now();
}

void Session::warning(const std::string& code, const std::string& text, Json facts) {
    Json e{{"conn", id_},
           {"event", "warning"},
           {"warning", code},
           {"backend", backend_name_},
           {"detail", text}};
    e.update(facts);
    gateway_.log.write(std::move(e));
}

void Session::backend_warning(const std::string& code, const std::string& text) {
    const bool first = gateway_.backend_facts.note(backend_name_, code);
    warning(code, text, first ? Json::object() : Json{{"repeat", true}});
}

// The store is the gateway's memory of each host; a store that cannot be read or written
// refuses the session rather than letting an unverified host through.
template <class F>
void Session::with_store(Stage stage, F&& f) {
    try {
        f(gateway_.known_hosts);
    } catch (const trust::StoreError& e) {
        throw HandshakeError{stage,
                             {Cause::internal_error, std::string("known hosts: ") + e.what()}};
    }
}

rdp::HostHistory Session::host_history() const {
    rdp::HostHistory h;
    if (tofu() && known_) {
        h.seen = known_->identity.layers;
        // A recorded certificate means TLS was seen, whatever the layers say.
        h.seen.tls = h.seen.tls || !known_->identity.tls_cert_sha256.empty();
    }
    const auto verify = backend_policy().verify;
    h.rdp_key_unverifiable =
        (verify == config::CertVerify::pin || verify == config::CertVerify::ca) &&
        backend_policy().rdp_key_sha256.empty();
    return h;
}

void Session::identity_learned(const std::string& what) {
    Json facts = Json::object();
    if (!observed_.tls_cert_sha256.empty()) {
        facts["tls_cert_sha256"] = observed_.tls_cert_sha256;
        facts["tls_spki_sha256"] = observed_.tls_spki_sha256;
    }
    if (!observed_.rdp_key_sha256.empty()) facts["rdp_key_sha256"] = observed_.rdp_key_sha256;
    facts["layers"] = rdp::to_string(observed_.layers);
    facts["known_hosts"] = gateway_.known_hosts.file().string();
    warning("host_identity_learned",
            "first contact with " + backend_address_ + ": trusting its " + what +
                " from now on (trust on first use); check it against the host, and run "
                "`rdpbridge hosts forget " +
                backend_name_ + "` if it is not the host's",
            std::move(facts));
}

// The pending identity is what `rdpbridge hosts accept` will trust once an operator checked it.
void Session::remember_refusal(const std::string& cause) {
    if (!tofu()) return;
    with_store(Stage::backend_negotiation, [&](trust::HostTrust& t) {
        t.refuse(backend_name_, backend_address_, observed_, cause);
    });
}

// Records a first use (or a renewed certificate). True when the store meanwhile holds another
// gateway's pin for this host: known_ is then that entry, and the caller decides again.
bool Session::pinned_meanwhile(Stage stage) {
    std::optional<trust::KnownHost> other;
    with_store(stage, [&](trust::HostTrust& t) {
        other = t.learn(backend_name_, backend_address_, observed_,
                        known_ ? &known_->identity : nullptr);
    });
    if (!other) return false;
    known_ = std::move(other);
    return true;
}

void Session::check_tls_identity(const tls::SessionFacts& facts) {
    observed_.tls_cert_sha256 = facts.peer ? facts.peer->sha256 : "";
    observed_.tls_spki_sha256 = facts.peer ? facts.peer->spki_sha256 : "";
    if (!tofu()) return;
    if (!facts.peer) {
        throw HandshakeError{Stage::backend_tls,
                             {Cause::host_identity_changed, "the host sent no certificate"}};
    }
    const bool learn = backend_policy().tofu_first_use == config::FirstUse::learn;
    const auto decision =
        rdp::check_tls_identity(known_ ? &known_->identity : nullptr, observed_.tls_cert_sha256,
                                observed_.tls_spki_sha256, learn);
    switch (decision.verdict) {
        case rdp::IdentityVerdict::match:
            with_store(Stage::backend_tls, [&](trust::HostTrust& t) {
                t.seen(backend_name_, backend_address_, observed_.layers);
            });
            return;
        case rdp::IdentityVerdict::renewed:
            if (pinned_meanwhile(Stage::backend_tls)) return check_tls_identity(facts);
            warning("host_certificate_renewed",
                    decision.detail + "; the key is unchanged, so the host is trusted",
                    {{"tls_cert_sha256", observed_.tls_cert_sha256}});
            return;
        case rdp::IdentityVerdict::learn:
            if (pinned_meanwhile(Stage::backend_tls)) return check_tls_identity(facts);
            identity_learned("TLS certificate " + observed_.tls_cert_sha256);
            return;
        case rdp::IdentityVerdict::refuse_unknown:
            remember_refusal("host_identity_unknown");
            throw HandshakeError{
                Stage::backend_tls,
                {Cause::host_identity_unknown, decision.detail + " (recorded as pending in " +
                                                   gateway_.known_hosts.file().string() + ")"}};
        case rdp::IdentityVerdict::changed:
            break;
    }
    remember_refusal("host_identity_changed");
    throw HandshakeError{
        Stage::backend_tls,
        {Cause::host_identity_changed, decision.detail + "; first seen " + known_->first_seen +
                                           ", last seen " + known_->last_seen + " (" +
                                           gateway_.known_hosts.file().string() + ")"}};
}

// Called from inside the relay (a bridge fact), so it must not throw: the bridge itself refuses a
// changed or unknown key; this only remembers.
void Session::on_rdp_key(const std::string& sha256) {
    observed_.rdp_key_sha256 = sha256;
    if (!tofu()) return;
    const bool learn = backend_policy().tofu_first_use == config::FirstUse::learn;
    const auto decision =
        rdp::check_rdp_identity(known_ ? &known_->identity : nullptr, sha256, learn);
    try {
        switch (decision.verdict) {
            case rdp::IdentityVerdict::match:
            case rdp::IdentityVerdict::renewed:
                gateway_.known_hosts.seen(backend_name_, backend_address_, observed_.layers);
                break;
            case rdp::IdentityVerdict::learn:
                if (auto other =
                        gateway_.known_hosts.learn(backend_name_, backend_address_, observed_,
                                                   known_ ? &known_->identity : nullptr)) {
                    // Pinned by another gateway while this one talked to the host: the bridge
                    // has not yet sent the Client Info, so ending the session here keeps the
                    // credentials from a host whose key now contradicts the store.
                    if (!trust::same_keys(other->identity, observed_)) {
                        gateway_.known_hosts.refuse(backend_name_, backend_address_, observed_,
                                                    "host_identity_changed");
                        identity_conflict_ = rdp::Failure{
                            Cause::host_identity_changed,
                            "another gateway sharing " + gateway_.known_hosts.file().string() +
                                " recorded RDP key sha256 " + other->identity.rdp_key_sha256 +
                                " for this host meanwhile; it presented sha256 " + sha256};
                        close_all();
                    }
                    break;
                }
                identity_learned("Standard RDP Security key " + sha256);
                break;
            case rdp::IdentityVerdict::refuse_unknown:
                gateway_.known_hosts.refuse(backend_name_, backend_address_, observed_,
                                            "host_identity_unknown");
                break;
            case rdp::IdentityVerdict::changed:
                gateway_.known_hosts.refuse(backend_name_, backend_address_, observed_,
                                            "host_identity_changed");
                break;
        }
    } catch (const trust::StoreError& e) {
        warning("known_hosts_write_failed", e.what());
    }
}

void Session::log_accepted(Json extra) {
    if (accepted_logged_) return;
    Json accepted{{"conn", id_},
                  {"event", "connection_accepted"},
                  {"listener", listener_.config->name},
                  {"client", endpoint_text(peer_)}};
    accepted.update(extra);
    gateway_.log.write(std::move(accepted));
    accepted_logged_ = true;
}

// One line per check in the JSON log (debug on stderr), never a connection_accepted or a
// handshake_failed: a balancer polling every two seconds must not look like failing clients.
void Session::log_balancer_check(const BalancerCheck& check) {
    Json j{{"conn", id_},
           {"event", "balancer_check"},
           {"listener", listener_.config->name},
           {"balancer", endpoint_text(peer_)}};
    if (check.proxy_protocol) j["proxy_protocol"] = *check.proxy_protocol;
    gateway_.log.write(std::move(j));
    ended_ = true;
}

void Session::log_failure(const HandshakeError& e) {
    if (ended_) return;
    // A PROXY header that never came: the connection is still the balancer's.
    log_accepted(Json{{"via_balancer", true}});
    Json j{{"conn", id_}};
    j.update(failure_fields(e.stage, e.failure));
    if (config().quick_start) {
        const auto& only = config().backends.front();
        j["hint"] = quick_start_hint(j["hint"].get<std::string>(), only.name,
                                     only.address.host + ":" + std::to_string(only.address.port));
    }
    if (!backend_name_.empty()) j["backend"] = backend_name_;
    j["elapsed_ms"] = std::round(ms_since(started_) * 100) / 100;
    gateway_.log.write(std::move(j));
    ended_ = true;
}

void Session::log_closed(const RelayResult& r) {
    if (ended_) return;
    Json closed{{"conn", id_},
                {"event", "session_closed"},
                {"backend", backend_name_},
                {"closed_by", r.closed_by},
                {"reason", r.reason},
                {"bytes_client_to_host", r.client_to_host},
                {"bytes_host_to_client", r.host_to_client},
                {"duration_ms", std::round(ms_since(started_) * 100) / 100}};
    if (r.failure) closed["cause"] = std::string(rdp::describe(r.failure->cause).id);
    closed.update(rdp_counts_);
    if (!host_error_info_.empty()) closed["host_error_info"] = host_error_info_;
    gateway_.log.write(std::move(closed));
    ended_ = true;
}

// The end of a session that neither peer caused: before establishment a handshake failure in
// the stage in progress, after it a close by the gateway that says why.
void Session::end_abruptly(Cause cause, const std::string& detail) {
    if (!established_logged_) return log_failure(HandshakeError{stage_, {cause, detail}});
    RelayResult r;
    r.closed_by = "gateway";
    r.reason = std::string(rdp::describe(cause).id) + ": " + detail;
    r.failure = rdp::Failure{cause, detail};
    log_closed(r);
}

void Session::close_all() {
    error_code ignored;
    resolver_.cancel();
    auto& c = front_tls_ ? front_tls_->next_layer() : client_;
    auto& b = back_tls_ ? back_tls_->next_layer() : backend_;
    c.shutdown(tcp::socket::shutdown_both, ignored);
    c.close(ignored);
    b.shutdown(tcp::socket::shutdown_both, ignored);
    b.close(ignored);
}

// Reads exactly one TPKT frame of at most `max` bytes from a raw socket. Nothing else may
// follow it: in the X.224 exchange each side waits for the other's answer.
awaitable<rdp::Bytes> Session::read_tpkt(tcp::socket& socket, Peer peer, Stage stage,
                                         std::size_t max) {
    rdp::Bytes buffer;
    std::array<uint8_t, 512> chunk;
    for (;;) {
        if (!buffer.empty() && !rdp::starts_like_tpkt(buffer)) {
            if (peer == Peer::client) {
                throw HandshakeError{
                    stage,
                    {rdp::classify_first_bytes(buffer),
                     "first bytes 0x" + rdp::hex(rdp::ByteView(buffer).first(
                                            std::min<std::size_t>(buffer.size(), 8)))}};
            }
            throw HandshakeError{
                stage, {Cause::host_confirm_malformed, "host's first byte is not TPKT version 3"}};
        }
        auto header = rdp::peek_frame(buffer);
        const Cause malformed =
            peer == Peer::client ? Cause::x224_request_malformed : Cause::host_confirm_malformed;
        if (!header) throw HandshakeError{stage, {malformed, header.error().message()}};
        if (*header) {
            const std::size_t length = (*header)->length;
            if (length > max) {
                throw HandshakeError{
                    stage,
                    {peer == Peer::client ? Cause::x224_request_too_large : malformed,
                     "tpkt.length announces " + std::to_string(length) + " bytes; the limit is " +
                         std::to_string(max)}};
            }
            if (buffer.size() > length) {
                throw HandshakeError{stage,
                                     {malformed, std::to_string(buffer.size() - length) +
                                                     " byte(s) sent before the answer"}};
            }
            if (buffer.size() == length) co_return buffer;
        }
        error_code ec;
        const std::size_t n = co_await socket.async_read_some(
            asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
        if (ec) {
            throw HandshakeError{
                stage, transport_failure(peer, stage, ec, deadline_.fired(), buffer.size())};
        }
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + long(n));
    }
}

// A load balancer's PROXY header, read exactly: the client's X.224 request follows it.
awaitable<rdp::ProxyHeader> Session::read_proxy_header() {
    enter(Stage::proxy_header);
    rdp::Bytes got;
    for (;;) {
        auto needs = rdp::proxy_header_needs(got);
        if (!needs)
            throw HandshakeError{Stage::proxy_header,
                                 {Cause::proxy_header_invalid, needs.error().message()}};
        if (*needs == 0) break;
        const std::size_t at = got.size();
        got.resize(at + *needs);
        error_code ec;
        co_await asio::async_read(client_, asio::buffer(got.data() + at, *needs),
                                  asio::redirect_error(use_awaitable, ec));
        if (ec && at == 0 && !deadline_.fired() && !stopped_by_gateway_) throw BalancerCheck{};
        if (ec) {
            throw HandshakeError{
                Stage::proxy_header,
                transport_failure(Peer::client, Stage::proxy_header, ec, deadline_.fired(), at)};
        }
    }
    auto header = rdp::decode_proxy_header(got);
    if (!header)
        throw HandshakeError{Stage::proxy_header,
                             {Cause::proxy_header_invalid, header.error().message()}};
    co_return *header;
}

// Behind a load balancer: the client is who the PROXY header says, for the log, the listener's
// allow/deny lists and admission (its per-source limits), as a direct client is at accept.
awaitable<void> Session::admit_proxied_client() {
    const auto header = co_await read_proxy_header();
    const std::string balancer = endpoint_text(peer_);
    if (header.source_address) {
        const auto address = asio::ip::make_address(*header.source_address);
        peer_ = tcp::endpoint(address, header.source_port);
    }
    const std::string source = peer_.address().to_string();
    if (!header.source_address && co_await closes_without_a_word())
        throw BalancerCheck{header.version};
    Json via{{"balancer", balancer}, {"proxy_protocol", header.version}};
    if (!header.source_address) via["local"] = true;  // the balancer's own connection
    log_accepted(via);
    stage_done(Stage::proxy_header);
    if (auto refused = source_check(*listener_.config, source))
        throw HandshakeError{Stage::client_transport, *refused};
    if (auto refused = gateway_.admission.admit(source, Admission::Clock::now()))
        throw HandshakeError{Stage::client_transport, *refused};
    ticket_.emplace(gateway_.admission, source);
}

// After a LOCAL header: true when the balancer closes before a byte of X.224 (a health check).
// Waiting for readability consumes nothing, so a connection that does go on loses no byte.
awaitable<bool> Session::closes_without_a_word() {
    error_code ec;
    co_await client_.async_wait(tcp::socket::wait_read, asio::redirect_error(use_awaitable, ec));
    // Our own closing (handshake timeout, shutdown) is not the balancer's.
    if (deadline_.fired() || stopped_by_gateway_) co_return false;
    co_return ec || client_.available(ec) == 0;
}

awaitable<rdp::ConnectionRequest> Session::read_client_request() {
    const auto frame = co_await read_tpkt(client_, Peer::client, Stage::client_x224,
                                          config().limits.max_x224_request);
    auto request = rdp::decode_connection_request(frame);
    if (!request)
        throw HandshakeError{Stage::client_x224,
                             {Cause::x224_request_malformed, request.error().message()}};
    co_return *request;
}

std::string Session::route(const rdp::ConnectionRequest& request) {
    enter(Stage::routing);
    auto picked = pick(config(), *listener_.config, request.mstshash);
    if (!picked) {
        throw HandshakeError{Stage::routing,
                             {Cause::no_route, "cookie " + request.mstshash.value_or("(none)") +
                                                   " on listener " + listener_.config->name}};
    }
    route_ = picked->route;
    return picked->backend;
}

awaitable<void> Session::connect_backend(const BackendRuntime& backend) {
    enter(Stage::backend_resolve);
    const auto& address = backend.config->address;
    connect_deadline_.arm(backend.config->connect_timeout, [this] { close_all(); });
    error_code ec;
    tcp::resolver::results_type endpoints;
    const auto literal = asio::ip::make_address(address.host, ec);
    if (!ec) {
        // A literal address needs no resolver (which would hand the work to a helper thread).
        endpoints = tcp::resolver::results_type::create(tcp::endpoint(literal, address.port),
                                                        address.host, std::to_string(address.port));
    } else {
        endpoints = co_await resolver_.async_resolve(address.host, std::to_string(address.port),
                                                     asio::redirect_error(use_awaitable, ec));
    }
    if (ec) {
        connect_deadline_.disarm();
        throw HandshakeError{Stage::backend_resolve,
                             resolve_failure(ec, connect_deadline_.fired(), address.host)};
    }
    stage_done(Stage::backend_resolve, {{"addresses", endpoints.size()}});
    enter(Stage::backend_connect);
    const std::string target = address.host + ":" + std::to_string(address.port);
    auto ep =
        co_await asio::async_connect(backend_, endpoints, asio::redirect_error(use_awaitable, ec));
    connect_deadline_.disarm();
    if (ec) {
        throw HandshakeError{Stage::backend_connect,
                             connect_failure(ec, connect_deadline_.fired(), target)};
    }
    backend_.set_option(tcp::no_delay(true), ec);
    apply_keepalive(backend_, config().limits.keepalive);
    stage_done(Stage::backend_connect, {{"backend_address", endpoint_text(ep)}});
}

awaitable<void> Session::refuse_client(rdp::NegFailureCode code) {
    const auto confirm = rdp::encode(rdp::ConnectionConfirm{rdp::NegotiationFailure{code}});
    error_code ec;
    co_await asio::async_write(client_, asio::buffer(confirm),
                               asio::redirect_error(use_awaitable, ec));
}

awaitable<rdp::BackendAgreement> Session::negotiate_backend(const BackendRuntime& backend,
                                                            const rdp::ConnectionRequest& request,
                                                            bool offer_hybrid) {
    auto security = to_rdp(backend.config->security);
    for (int attempt = 0;; ++attempt) {
        const auto ours = rdp::backend_request(request, security, offer_hybrid);
        const auto bytes = rdp::encode(ours);
        error_code ec;
        co_await asio::async_write(backend_, asio::buffer(bytes),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec) {
            throw HandshakeError{Stage::backend_negotiation,
                                 transport_failure(Peer::host, Stage::backend_negotiation, ec,
                                                   deadline_.fired(), 0)};
        }
        const auto frame =
            co_await read_tpkt(backend_, Peer::host, Stage::backend_negotiation, kMaxConfirm);
        auto confirm = rdp::decode_connection_confirm(frame);
        if (!confirm) {
            throw HandshakeError{Stage::backend_negotiation,
                                 {Cause::host_confirm_malformed, confirm.error().message()}};
        }
        auto outcome = rdp::interpret_backend_confirm(ours, *confirm, security, host_history());
        if (auto* refusal = std::get_if<rdp::Refusal>(&outcome)) {
            if (refusal->cause == Cause::host_security_downgrade) {
                const auto* rsp = std::get_if<rdp::NegotiationResponse>(&confirm->negotiation);
                observed_.layers =
                    rdp::layers_of(rsp ? rsp->selected_protocol : rdp::protocol::rdp);
                remember_refusal("host_security_downgrade");
            }
            if (refusal->retry_with_standard_security && attempt == 0) {
                // The host closes after RDP_NEG_FAILURE: ask again, for what it does speak.
                stage_done(Stage::backend_negotiation,
                           {{"back_requested",
                             rdp::protocols_to_string(ours.negotiation->requested_protocols)},
                            {"refused", refusal->detail},
                            {"retry", "Standard RDP Security"}});
                error_code ignored;
                backend_.close(ignored);
                security = rdp::BackSecurity::rdp;
                co_await connect_backend(backend);
                continue;
            }
            // Once the client is past its Connection Confirm (NLA first) it can only be closed.
            if (refusal->tell_client && !front_tls_) co_await refuse_client(*refusal->tell_client);
            throw HandshakeError{Stage::backend_negotiation, {refusal->cause, refusal->detail}};
        }
        auto agreement = std::get<rdp::BackendAgreement>(outcome);
        observed_.layers = rdp::layers_of(agreement.selected_protocol);
        if (is_nla(agreement.selected_protocol) &&
            backend_policy().verify == config::CertVerify::off) {
            throw HandshakeError{
                Stage::backend_negotiation,
                {Cause::host_identity_unverified,
                 "host selected " + rdp::protocols_to_string(agreement.selected_protocol) +
                     ": the gateway would have to delegate a password to it"}};
        }
        stage_done(
            Stage::backend_negotiation,
            {{"back_requested", rdp::protocols_to_string(ours.negotiation->requested_protocols)},
             {"back_selected", rdp::protocols_to_string(agreement.selected_protocol)}});
        gateway_.backend_facts.answered(backend_name_, agreement.selected_protocol);
        if (agreement.selected_protocol == rdp::protocol::ssl) {
            backend_warning(
                "backend_no_nla",
                "host accepted a session without Network Level Authentication: anyone who "
                "reaches it gets a logon screen before authenticating (pre-authentication "
                "exposure); keep it reachable only through the gateway");
        }
        if (agreement.selected_protocol == rdp::protocol::rdp) {
            backend_warning(
                "backend_standard_rdp_security",
                "host speaks only Standard RDP Security (RC4/FIPS, no TLS, no NLA); the "
                "gateway bridges it, with legacy crypto confined to this backend");
        }
        co_return agreement;
    }
}

awaitable<tls::SessionFacts> Session::accept_front_tls(TlsStream& front) {
    enter(Stage::front_tls);
    tls::AlertTrace alerts;
    tls::attach_alert_trace(front.native_handle(), &alerts);
    error_code ec;
    co_await front.async_handshake(asio::ssl::stream_base::server,
                                   asio::redirect_error(use_awaitable, ec));
    tls::attach_alert_trace(front.native_handle(), nullptr);
    if (ec) {
        if (ec.category() != asio::error::get_ssl_category() || deadline_.fired()) {
            throw HandshakeError{Stage::front_tls, transport_failure(Peer::client, Stage::front_tls,
                                                                     ec, deadline_.fired(), 0)};
        }
        auto failure =
            tls::diagnose_handshake(tls::Side::front, ec.value(), alerts, X509_V_OK, ec.message());
        if (failure.cause == Cause::front_tls_version_too_old) {
            // The ClientHello's version is known even though no version was agreed.
            failure.detail += "; the client offered " +
                              tls::version_name(SSL_client_version(front.native_handle())) +
                              " at most, the front side requires TLS 1.2 or 1.3";
        }
        throw HandshakeError{Stage::front_tls, std::move(failure)};
    }
    auto facts = tls::inspect(front.native_handle());
    stage_done(Stage::front_tls, tls_facts(facts));
    co_return facts;
}

awaitable<tls::SessionFacts> Session::connect_backend_tls(TlsStream& back,
                                                          const BackendRuntime& backend) {
    enter(Stage::backend_tls);
    const auto& policy = backend.config->tls;
    SSL* ssl = back.native_handle();
    if (!policy.sni.empty()) SSL_set_tlsext_host_name(ssl, policy.sni.c_str());
    if (policy.verify == config::CertVerify::ca) {
        // A CA vouches for names: without one, any certificate it issued would pass for any host.
        const std::string& name = !policy.name.empty()  ? policy.name
                                  : !policy.sni.empty() ? policy.sni
                                                        : backend.config->address.host;
        error_code not_ip;
        asio::ip::make_address(name, not_ip);
        if (!not_ip)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
        else
            SSL_set1_host(ssl, name.c_str());
    }
    const bool resume_offered = backend.sessions && backend.sessions->offer(ssl);
    tls::AlertTrace alerts;
    tls::attach_alert_trace(ssl, &alerts);
    error_code ec;
    co_await back.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(use_awaitable, ec));
    tls::attach_alert_trace(ssl, nullptr);
    if (backend.sessions) backend.sessions->settle(ssl, !ec);
    if (ec) {
        if (ec.category() != asio::error::get_ssl_category() || deadline_.fired()) {
            throw HandshakeError{
                Stage::backend_tls,
                transport_failure(Peer::host, Stage::backend_tls, ec, deadline_.fired(), 0)};
        }
        throw HandshakeError{Stage::backend_tls,
                             tls::diagnose_handshake(tls::Side::backend, ec.value(), alerts,
                                                     SSL_get_verify_result(ssl), ec.message())};
    }
    auto facts = tls::inspect(ssl);
    if (policy.verify == config::CertVerify::pin &&
        !(facts.peer && tls::pin_matches(policy.pin_sha256, facts.peer->sha256))) {
        throw HandshakeError{
            Stage::backend_tls,
            {Cause::host_certificate_pin_mismatch, "host presented sha256 " +
                                                       (facts.peer ? facts.peer->sha256 : "none") +
                                                       ", pin is " + policy.pin_sha256}};
    }
    check_tls_identity(facts);
    auto done = tls_facts(facts);
    // Offered and not resumed: the host declined (restarted, expired it, or never resumes).
    if (backend.sessions) done["tls_resume_offered"] = resume_offered;
    stage_done(Stage::backend_tls, std::move(done));
    if (facts.peer && facts.peer->days_left < 0) {
        warning("backend_certificate_expired",
                "host certificate expired " + std::to_string(-facts.peer->days_left) +
                    " day(s) ago (" + facts.peer->not_after + "); accepted because verify = \"" +
                    (policy.verify == config::CertVerify::pin ? "pin" : "off") + "\"");
    } else if (facts.peer && facts.peer->days_left < kCertificateWarningDays) {
        warning("backend_certificate_expiring", "host certificate expires in " +
                                                    std::to_string(facts.peer->days_left) +
                                                    " day(s) (" + facts.peer->not_after + ")");
    }
    if (facts.version == "TLSv1" || facts.version == "TLSv1.1") {
        warning("backend_legacy_tls", "host negotiated " + facts.version + " with " + facts.cipher +
                                          "; confined to this backend");
    }
    co_return facts;
}

awaitable<rdp::credssp::PasswordCredentials> Session::accept_front_nla(TlsStream& front,
                                                                       uint32_t front_selected,
                                                                       rdp::Bytes& client_rest) {
    enter(Stage::front_nla);
    auto outcome =
        co_await run_front_nla(front, *listener_.config->nla_users, listener_.config->nla_keytab,
                               front_selected == rdp::protocol::hybrid_ex, gateway_.blocking);
    if (auto* failure = std::get_if<rdp::Failure>(&outcome)) {
        if (deadline_.fired())
            throw HandshakeError{Stage::front_nla,
                                 transport_failure(Peer::client, Stage::front_nla, {}, true, 0)};
        throw HandshakeError{Stage::front_nla, std::move(*failure)};
    }
    auto& authenticated = std::get<rdp::credssp::Authenticated>(outcome);
    // Who logged on, never with what: the password stays in its Secret.
    user_ = authenticated.credentials.domain.empty()
                ? authenticated.credentials.user
                : authenticated.credentials.domain + "\\" + authenticated.credentials.user;
    stage_done(Stage::front_nla, {{"user", authenticated.credentials.user},
                                  {"domain", authenticated.credentials.domain},
                                  {"credssp_version", authenticated.version}});
    client_rest = std::move(authenticated.rest);
    co_return std::move(authenticated.credentials);
}

awaitable<void> Session::connect_backend_nla(TlsStream& back, const BackendRuntime& backend,
                                             uint32_t back_selected,
                                             rdp::credssp::PasswordCredentials credentials) {
    enter(Stage::backend_nla);
    Json who{{"user", credentials.user}, {"domain", credentials.domain}};
    auto outcome =
        co_await run_back_nla(back, backend.config->address.host, std::move(credentials),
                              back_selected == rdp::protocol::hybrid_ex, gateway_.blocking);
    if (auto* failure = std::get_if<rdp::Failure>(&outcome)) {
        if (deadline_.fired())
            throw HandshakeError{Stage::backend_nla,
                                 transport_failure(Peer::host, Stage::backend_nla, {}, true, 0)};
        throw HandshakeError{Stage::backend_nla, std::move(*failure)};
    }
    who["credssp_version"] = std::get<uint32_t>(outcome);
    stage_done(Stage::backend_nla, std::move(who));
}

// A fresh copy per session: the CredSSP client consumes (and wipes) what it is given.
rdp::credssp::PasswordCredentials service_credentials(const ServiceAccount& account) {
    const std::string_view utf8(reinterpret_cast<const char*>(account.password.view().data()),
                                account.password.size());
    auto password = rdp::credssp::password_from_utf8(utf8);
    return {account.domain, account.user, password ? std::move(*password) : rdp::Secret{}};
}

awaitable<void> Session::run() {
    error_code ec;
    // TCP_NODELAY and keepalive came with the socket from its listener (apply_to_accepted).
    // Behind a load balancer, logged once its PROXY header says who the client is.
    if (!listener_.config->proxy_protocol) log_accepted();
    deadline_.arm(config().limits.handshake_timeout, [this] { close_all(); });

    auto& front = front_stream_;
    auto& back = back_stream_;
    std::optional<RelayResult> relayed;
    try {
        if (listener_.config->proxy_protocol) co_await admit_proxied_client();
        enter(Stage::client_x224);
        const auto request = co_await read_client_request();
        const uint32_t client_requested =
            request.negotiation ? request.negotiation->requested_protocols : 0;
        Json x224{{"requested_protocols", rdp::protocols_to_string(client_requested)}};
        if (request.mstshash) x224["mstshash"] = user_ = *request.mstshash;
        if (request.routing_token) x224["routing_token"] = true;
        stage_done(Stage::client_x224, x224);

        const auto selected = rdp::select_front_protocol(request, to_rdp(listener_.config->nla));
        if (auto* refusal = std::get_if<rdp::Refusal>(&selected)) {
            co_await refuse_client(*refusal->tell_client);
            throw HandshakeError{Stage::client_x224, {refusal->cause, refusal->detail}};
        }
        const uint32_t front_selected = std::get<uint32_t>(selected);

        backend_name_ = route(request);
        const auto it = generation_->backends.find(backend_name_);
        if (it == generation_->backends.end())
            throw HandshakeError{Stage::routing, {Cause::internal_error, "unknown backend"}};
        const BackendRuntime& backend = it->second;
        backend_runtime_ = &backend;
        backend_address_ =
            backend.config->address.host + ":" + std::to_string(backend.config->address.port);
        if (tofu()) {
            with_store(Stage::routing, [&](trust::HostTrust& t) {
                known_ = t.lookup(backend_name_, backend_address_);
            });
        }
        stage_done(Stage::routing, {{"backend", backend_name_}});

        // The host hears of a client only once it has completed the front TLS handshake (and NLA):
        // a port scanner, a client that gives up early or a wrong password costs the host
        // nothing. The gateway answers the X.224 request itself, so the Connection Confirm cannot
        // pass on the host's capability flags (extended client data, graphics pipeline), which
        // nobody knows yet, and a host's refusal can only close the client. A backend with
        // early_host_contact trades that for the host's own answer, for clients without NLA.
        const bool nla_front = is_nla(front_selected);
        const auto& service = backend.service_credentials;
        // Holding the client's password, or the backend's service account, the gateway can run
        // CredSSP with the host for this client.
        const bool offer_hybrid = nla_front || service.has_value();
        std::optional<rdp::BackendAgreement> agreement;
        if (!nla_front && backend.config->early_host_contact) {
            co_await connect_backend(backend);
            enter(Stage::backend_negotiation);
            agreement = co_await negotiate_backend(backend, request, offer_hybrid);
        }
        const auto confirm = rdp::encode(rdp::front_confirm(
            front_selected, agreement.value_or(rdp::BackendAgreement{front_selected, 0})));
        co_await asio::async_write(client_, asio::buffer(confirm),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec) {
            throw HandshakeError{
                Stage::client_x224,
                transport_failure(Peer::client, Stage::client_x224, ec, deadline_.fired(), 0)};
        }

        front.emplace(std::move(client_), listener_.front_tls.get());
        front_tls_ = &*front;
        const auto front_facts = co_await accept_front_tls(*front);
        rdp::Bytes client_rest;  // what the client sent right after its credentials
        std::optional<rdp::credssp::PasswordCredentials> credentials;
        if (nla_front) {
            credentials = co_await accept_front_nla(*front, front_selected, client_rest);
            if (backend_policy().verify == config::CertVerify::off) {
                // Delegated credentials go only to a host whose identity is checked.
                throw HandshakeError{Stage::backend_negotiation,
                                     {Cause::host_identity_unverified,
                                      "the client delegated its password over NLA; backend " +
                                          backend_name_ + " has verify = \"off\""}};
            }
        }
        if (!agreement) {
            co_await connect_backend(backend);
            enter(Stage::backend_negotiation);
            agreement = co_await negotiate_backend(backend, request, offer_hybrid);
        }
        if (!nla_front && service && is_nla(agreement->selected_protocol))
            credentials = service_credentials(*service);
        established_ =
            Json{{"conn", id_}, {"event", "session_established"}, {"backend", backend_name_}};
        established_["front"] = tls_facts(front_facts);
        established_["front"]["requested"] = rdp::protocols_to_string(client_requested);
        established_["front"]["selected"] = rdp::protocols_to_string(front_selected);

        rdp::BridgeParams params;
        params.client_requested = client_requested;
        params.front_selected = front_selected;
        params.back_selected = agreement->selected_protocol;
        params.refuse_ms_t120 = config().shield.refuse_ms_t120;
        params.allowed_methods = backend.config->encryption_methods;
        if (const auto* policy = config::effective_channel_policy(*backend.config, route_)) {
            params.channels = bridge_channel_policy(*policy);
            established_["channel_policy"] = config::describe(*policy);
        }
        if (agreement->selected_protocol == rdp::protocol::ssl) {
            back.emplace(std::move(backend_), backend.tls.get());
            back_tls_ = &*back;
            const auto back_facts = co_await connect_backend_tls(*back, backend);
            established_["back"] = tls_facts(back_facts);
            established_["back"]["selected"] = "SSL";
            relayed = co_await bridge(*front, *back, params, std::move(client_rest),
                                      std::move(credentials));
        } else if (is_nla(agreement->selected_protocol)) {
            back.emplace(std::move(backend_), backend.tls.get());
            back_tls_ = &*back;
            const auto back_facts = co_await connect_backend_tls(*back, backend);
            established_["back"] = tls_facts(back_facts);
            established_["back"]["selected"] =
                rdp::protocols_to_string(agreement->selected_protocol);
            // Only offered with credentials: the client's, or the backend's service account.
            co_await connect_backend_nla(*back, backend, agreement->selected_protocol,
                                         std::move(*credentials));
            relayed = co_await bridge(*front, *back, params, std::move(client_rest));
        } else {
            established_["back"] = Json{{"selected", "RDP"}};
            if (RAND_bytes(params.client_random.data(), int(params.client_random.size())) != 1)
                throw HandshakeError{
                    Stage::security_exchange,
                    {Cause::internal_error, "RAND_bytes failed: no client random"}};
            // The host's RSA key is checked inside the bridge, before the client random (and
            // the credentials under it) leave the gateway.
            if (tofu()) {
                if (known_) {
                    params.expected_rdp_key_sha256 = known_->identity.rdp_key_sha256;
                    params.key_recorded = "first seen " + known_->first_seen + ", last seen " +
                                          known_->last_seen + ", " +
                                          gateway_.known_hosts.file().string();
                }
                params.refuse_unknown_key =
                    backend_policy().tofu_first_use == config::FirstUse::refuse;
            } else if (backend_policy().verify != config::CertVerify::off) {
                params.expected_rdp_key_sha256 = backend_policy().rdp_key_sha256;
                params.key_recorded = "[backend.tls] rdp_key_sha256";
            }
            relayed = co_await bridge(*front, backend_, params, std::move(client_rest),
                                      std::move(credentials));
        }
    } catch (const BalancerCheck& check) {
        log_balancer_check(check);
    } catch (const HandshakeError& e) {
        log_failure(stopped_by_gateway_ ? HandshakeError{e.stage, shutdown_failure()} : e);
    } catch (const std::exception& e) {
        // Not a peer's doing: a bug or an exhausted resource. The session ends with one line
        // that says so; the gateway goes on serving the others.
        end_abruptly(Cause::internal_error, e.what());
    } catch (...) {
        end_abruptly(Cause::internal_error, "an exception that is not a std::exception");
    }
    deadline_.disarm();
    if (relayed && stopped_by_gateway_) {
        relayed->closed_by = "gateway";
        relayed->failure = shutdown_failure();
        relayed->reason = "shutdown";  // the audit record: the gateway ended it, on purpose
    }
    if (relayed && established_logged_ && deadline_.fired() && !stopped_by_gateway_) {
        relayed->closed_by = "gateway";
        relayed->failure =
            rdp::Failure{Cause::host_silent,
                         "the host did not get past licensing within handshake_timeout "
                         "(nothing after the security exchange but licensing PDUs)"};
        relayed->reason = "host_silent";
    }
    if (relayed && !established_logged_) {
        log_failure(HandshakeError{Stage::mcs_gcc, unestablished_failure(*relayed)});
    } else if (relayed) {
        log_closed(*relayed);
    }
    close_all();
    // The registry entry and the admission slot go with the session object (their guards).
}

// The MCS connect exchange (and, towards Standard RDP Security hosts, the security exchange)
// runs inside the relay: the session counts as established only once the bridge says so.
template <class HostStream>
awaitable<RelayResult> Session::bridge(
    TlsStream& front, HostStream& host, const rdp::BridgeParams& params, rdp::Bytes client_rest,
    std::optional<rdp::credssp::PasswordCredentials> auto_logon) {
    enter(Stage::mcs_gcc);
    rdp::Bridge bridge(params);
    awaiting_licensing_ = params.back_selected == rdp::protocol::rdp;
    // A host without NLA logs the user on with the credentials the client delegated to us.
    if (auto_logon) bridge.set_auto_logon(std::move(*auto_logon));
    auto result = co_await relay(
        front, host, bridge, config().limits.relay_buffer, config().limits.idle_timeout,
        [this](const rdp::Fact& f) { on_bridge_fact(f); }, std::move(client_rest),
        &relay_counters_);
    if (params.back_selected == rdp::protocol::rdp) {
        // How many PDUs went through RC4/FIPS each way: proof that key updates (every 4096)
        // happened without a MAC failure.
        rdp_counts_ = Json{{"rdp_pdus_encrypted_to_host", bridge.pdus_sealed()},
                           {"rdp_pdus_verified_from_host", bridge.pdus_opened()}};
    }
    if (bridge.channel_policy()) {
        rdp_counts_["channel_pdus_dropped"] = bridge.channel_pdus_dropped();
        rdp_counts_["devices_refused"] = bridge.devices_refused();
    }
    co_return result;
}

void Session::on_bridge_fact(const rdp::Fact& f) {
    if (f.first == "established") {
        // A Standard RDP Security host still owes its licensing PDUs, which the bridge decrypts:
        // one that goes silent after the security exchange must not hold the session for ever.
        if (!awaiting_licensing_) deadline_.disarm();
        established_["handshake_ms"] = std::round(ms_since(started_) * 100) / 100;
        // A drain lets an established session run; the status page lists it.
        registration_.established(
            review::LiveSession{id_, user_, endpoint_text(peer_), backend_name_,
                                logs::leg_security(established_["front"]),
                                logs::leg_security(established_["back"]), trust::now_rfc3339(), 0,
                                0},
            &relay_counters_);
        gateway_.log.write(std::move(established_));
        established_logged_ = true;
        if (ticket_) ticket_->established();
        enter(Stage::active_session);
        return;
    }
    if (f.first == "licensing_done") deadline_.disarm();
    if (f.first == "rdp_key_sha256") on_rdp_key(f.second);
    if (f.first.starts_with("rdp_")) established_["back"][f.first.substr(4)] = f.second;
    if (f.first == "set_error_info") host_error_info_ = f.second;
    if (f.first == "channels") return log_channels(f.second);
    if (f.first == "channel_refused") return log_channel_refused(f.second);
    gateway_.log.write(Json{{"conn", id_}, {"event", "bridge"}, {f.first, f.second}});
}

namespace {

std::vector<std::string> split(std::string_view text, char by) {
    std::vector<std::string> parts;
    while (!text.empty()) {
        const auto end = text.find(by);
        parts.emplace_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return parts;
}

}  // namespace

// "passed=a,b removed=c": the channels the policy let through to the host and kept from it.
void Session::log_channels(const std::string& fact) {
    Json event{{"conn", id_}, {"event", "bridge"}};
    for (const auto& part : split(fact, ' ')) {
        const auto eq = part.find('=');
        if (eq == std::string::npos) continue;
        event["channels_" + part.substr(0, eq)] = split(std::string_view(part).substr(eq + 1), ',');
    }
    gateway_.log.write(std::move(event));
}

// "channel=rdpdr device=drive id=1 name=C", or "channel=rdpdr <why a message was withheld>".
void Session::log_channel_refused(const std::string& fact) {
    Json event{{"conn", id_}, {"event", "channel_refused"}};
    std::string_view rest = fact;
    while (!rest.empty()) {
        const auto end = std::min(rest.find(' '), rest.size());
        const std::string_view part = rest.substr(0, end);
        const auto eq = part.find('=');
        if (eq == std::string_view::npos) break;
        const std::string key(part.substr(0, eq));
        const std::string value(part.substr(eq + 1));
        if (key == "channel") event["channel"] = value;
        if (key == "device") event["device_type"] = value;
        if (key == "name") event["dos_name"] = value;
        if (key == "id") event["device_id"] = std::strtoul(value.c_str(), nullptr, 10);
        rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    if (!rest.empty()) event["reason"] = std::string(rest);
    gateway_.log.write(std::move(event));
}

rdp::Failure Session::unestablished_failure(const RelayResult& r) const {
    if (identity_conflict_) return *identity_conflict_;
    if (r.failure) return *r.failure;
    if (!host_error_info_.empty())
        return {Cause::host_set_error_info, "host said " + host_error_info_ + ", then closed"};
    const std::string progress =
        " after " + std::to_string(r.client_to_host) + " byte(s) from the client and " +
        std::to_string(r.host_to_client) + " from the host, before the session was established";
    if (deadline_.fired()) {
        // Until the session is established each side answers the other (Connect Initial and
        // Response, Attach User and Join requests and confirms, then the Client Info): the side
        // that spoke last is waiting, the other one is silent.
        const bool host_silent = r.last_spoke == "client";
        return {host_silent ? Cause::host_silent : Cause::client_silent,
                "handshake deadline passed" + progress};
    }
    if (r.closed_by == "client") return {Cause::client_closed, "client closed" + progress};
    return {Cause::host_closed, "host closed (" + r.reason + ")" + progress};
}

}  // namespace

awaitable<void> run_session(GatewayState& gateway, std::shared_ptr<const Generation> generation,
                            const ListenerRuntime& listener, tcp::socket client, tcp::endpoint peer,
                            std::string id, std::optional<AdmissionTicket> ticket) {
    Session session(gateway, std::move(generation), listener, std::move(client), peer,
                    std::move(id), std::move(ticket));
    co_await session.run();
}

}  // namespace rdpbridge::proxy
