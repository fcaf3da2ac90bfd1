// The bridge state machine between the client's and the host's byte streams after the
// security layers are up. It sees the client's plaintext (TLS is terminated by the caller) and
// the host's bytes, rewrites what must differ between the legs, and
//  - towards a TLS host: translates the MCS connect exchange, then steps aside (transparent),
//    except in the client's direction where a channel policy must read it (channel_filter.hpp);
//  - towards a Standard RDP Security host: runs the client side of that security — key
//    exchange, MAC and RC4/FIPS on every PDU both ways, licensing re-framing — for the whole
//    session, so the client only ever sees what a TLS server sends.
//
// Like nghttp2's session, it never touches a socket or a clock: bytes in, bytes out, plus
// facts for the handshake log. The client random comes from the caller's CSPRNG.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rdp/channel_filter.hpp"
#include "rdp/channel_policy.hpp"
#include "rdp/credssp.hpp"
#include "rdp/diagnosis.hpp"
#include "rdp/fact.hpp"
#include "rdp/framer.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/pdu_watch.hpp"
#include "rdp/server_security.hpp"
#include "rdp/standard_security.hpp"

namespace rdpbridge::rdp {

struct BridgeParams {
    uint32_t client_requested = 0;  // requestedProtocols of the client's RDP_NEG_REQ
    uint32_t front_selected = 0;    // what the gateway selected for the client
    uint32_t back_selected = 0;     // what the host selected for the gateway
    std::size_t max_pdu = 0xFFFF;
    bool refuse_ms_t120 = true;  // BlueKeep (CVE-2019-0708) shield
    // Standard RDP Security on the back leg (back_selected == protocol::rdp):
    uint32_t allowed_methods = 0;             // CS_SECURITY.encryptionMethods offered to the host
    std::array<uint8_t, 32> client_random{};  // from a CSPRNG; wiped once keys are derived
    // The host's RSA key must be this one (rdp_key_sha256(), from a pin or the known-hosts
    // store), checked before the client random or anything of the client's beyond its MCS
    // Connect Initial is sent. Empty: no key expected; then `refuse_unknown_key` decides
    // whether an unrecorded key stops the session (tofu_first_use = "refuse") or is reported
    // (fact "rdp_key_sha256") for the caller to record. `key_recorded` is added to a mismatch's
    // detail (when and where the expected key was learnt).
    std::string expected_rdp_key_sha256;
    bool refuse_unknown_key = false;
    std::string key_recorded;
    // Which of the client's static channels and rdpdr devices reach the host; empty: all, and
    // the client's stream is not read after the connect exchange (towards a TLS host).
    ChannelPolicy channels;
};

class Bridge {
  public:
    explicit Bridge(const BridgeParams& params);
    ~Bridge();

    // Auto-logon: the password the client delegated over NLA goes into the host's Client Info
    // PDU (TS_INFO_PACKET with INFO_AUTOLOGON; domain, user and password replaced), for a host
    // that does not run NLA itself. Call before the client's first PDU. Towards a TLS host the
    // client direction then stays translated until the Client Info (rewritten, fact
    // "credentials_injected" with the user name) or something else that shows none is coming
    // (passed on, fact "credentials_not_injected" with the reason). The credentials are
    // dropped, and their password wiped, as soon as that is decided.
    void set_auto_logon(credssp::PasswordCredentials credentials);

    // Bytes received from the client, in stream order. What the host must receive is appended
    // to `to_host`. A Failure means the session cannot continue.
    std::optional<Failure> from_client(ByteView in, Bytes& to_host);
    // Bytes received from the host; what the client must receive is appended to `to_client`.
    std::optional<Failure> from_host(ByteView in, Bytes& to_client);
    // What the gateway itself answers the client, produced by from_client (a Channel Join
    // Confirm for a channel the policy removed). The caller sends it before any host bytes it
    // has not yet written; only while the host direction is not transparent can there be any,
    // so it always falls between two of the host's PDUs.
    Bytes take_replies() { return std::exchange(replies_, {}); }

    // True once a direction needs no more translation: the caller may relay it directly.
    bool client_transparent() const { return client_transparent_; }
    bool host_transparent() const { return host_transparent_; }

    // Facts learned since the last call (channels, rewrites, negotiated security), for the log.
    // Two mark progress: "established" (the gateway's part of the connection sequence is done)
    // and, towards a Standard RDP Security host, "licensing_done" (its first PDU after licensing).
    std::vector<Fact> take_facts();

    // Standard RDP Security PDUs protected towards the host and verified from it (0 for TLS).
    uint32_t pdus_sealed() const { return security_ ? security_->packets_sealed() : 0; }
    uint32_t pdus_opened() const { return security_ ? security_->packets_opened() : 0; }
    // The channel policy at work: whether there is one, the client PDUs it dropped (sent on a
    // removed channel, or an rdpdr message withheld) and the rdpdr devices it refused.
    bool channel_policy() const { return filter_ != nullptr; }
    uint64_t channel_pdus_dropped() const { return filter_ ? filter_->pdus_dropped() : 0; }
    uint32_t devices_refused() const { return filter_ ? filter_->devices_refused() : 0; }

  private:
    std::optional<Failure> client_pdu(const Bytes& pdu, Bytes& out);
    std::optional<Failure> host_pdu(const Bytes& pdu, Bytes& out);
    std::optional<Failure> connect_initial(const Bytes& pdu, Bytes& out);
    std::optional<Failure> connect_response(const Bytes& pdu, Bytes& out);
    std::optional<Failure> client_send_data(const Bytes& pdu, const mcs::SendData& sd, Bytes& out);
    std::optional<Failure> host_send_data(const Bytes& pdu, const mcs::SendData& sd, Bytes& out);
    std::optional<Failure> client_fastpath(const Bytes& pdu, Bytes& out);
    std::optional<Failure> inject_plain(const Bytes& pdu, const mcs::SendData& sd, Bytes& out);
    std::optional<Failure> rewrite_client_info(ByteView info_packet,
                                               std::optional<Secret>& rewritten);
    void stop_awaiting_client_info(std::string reason);
    void client_step_aside();
    void client_maybe_transparent();
    void host_step_aside();
    bool host_stream_needed() const;
    std::optional<Failure> demand_active(Bytes& share_control);
    std::optional<Failure> join_request(const Bytes& pdu, Bytes& out);
    void join_confirm(Bytes& out);
    std::optional<Failure> channel_policy(const mcs::SendData& sd, Bytes& out, bool& handled);
    std::optional<Failure> host_fastpath(const Bytes& pdu, Bytes& out);
    std::optional<Failure> accept_server_security(const ServerSecurity& security);
    std::optional<Failure> check_host_key(const RsaPublicKey& key);
    std::string key_recorded_note() const;
    std::optional<Failure> security_exchange(const mcs::SendData& carrier, Bytes& out);
    std::optional<Failure> append_sealed(const mcs::SendData& header, uint16_t flags,
                                         ByteView plaintext, Bytes& out);
    bool standard_security() const { return security_ != nullptr; }
    void note_key_updates();
    void note_error_info(uint32_t code);
    void finish_licensing();
    void watch_transparent_host(ByteView in);

    BridgeParams params_;
    Framer client_framer_;
    Framer host_framer_;
    bool client_transparent_ = false;
    bool host_transparent_ = false;
    bool client_connected_ = false;  // Connect Initial translated
    // Auto-logon: the credentials until the Client Info is rewritten (or shown not to come).
    std::optional<credssp::PasswordCredentials> auto_logon_;
    std::size_t pdus_awaiting_client_info_ = 0;
    bool client_may_step_aside_ = false;  // transparent once no Client Info is awaited
    bool host_connected_ = false;         // Connect Response translated
    bool exchange_sent_ = false;
    bool licensing_done_ = false;
    bool host_encrypts_licensing_ = false;
    bool sealed_update_noted_ = false;
    bool opened_update_noted_ = false;
    Bytes encrypted_client_random_;
    std::unique_ptr<StandardSecurity> security_;
    // Once the host direction is transparent, a watcher still looks for the host's last words
    // (Set Error Info, Disconnect Provider Ultimatum) without holding up the bytes.
    PduWatch host_watch_;
    bool host_watching_ = true;
    // Channel policy: the filter (none without a policy), the client's joins the host is still
    // to confirm, and the gateway's own confirms waiting behind them so the client gets every
    // confirm in the order it asked.
    std::unique_ptr<ChannelFilter> filter_;
    uint32_t joins_forwarded_ = 0;
    uint32_t host_confirms_ = 0;
    std::deque<std::pair<uint32_t, Bytes>> held_confirms_;  // (joins forwarded before it, PDU)
    bool joins_done_ = false;           // the client's first Send Data or fast-path PDU came
    bool demand_active_seen_ = false;   // with device rules: the host's, compression taken back
    bool host_may_step_aside_ = false;  // transparent once no join is held
    Bytes replies_;
    std::vector<Fact> facts_;
};

}  // namespace rdpbridge::rdp
