// The GSSAPI layer under CredSSP (NLA): security contexts on both legs, tokens in, tokens out.
// No sockets, no Asio: the CredSSP codecs (TSRequest) carry what step() returns and feed it what
// the peer sent.
//
// Authentication comes from MIT GSSAPI (libgssapi_krb5) and its plugins, never from NTLM code of
// ours: NTLM is Debian's gss-ntlmssp (mech 1.3.6.1.4.1.311.2.2.10), Kerberos the krb5 mechanism
// with a keytab, SPNEGO (RFC 4178) MIT's negotiation mechanism that carries either.
//
// What these wrappers rely on, found by trying gss-ntlmssp 1.2.0 with krb5 1.20 (Debian 12):
// - Acceptor credentials come from a cred store, not the environment: gss_acquire_cred_from with
//   {"ntlmssp_keyfile": <users file>} and a host-based service name. With an empty users_file
//   gss-ntlmssp falls back to its defaults: NTLM_USER_FILE, then winbind (an AD-joined host).
// - The mechglue recognises an untagged "NTLMSSP\0" first token as NTLM and a 0x60-tagged token
//   by its OID (SPNEGO), but only picks a mechanism the acceptor credential holds: a credential
//   acquired for SPNEGO answers a raw NTLMSSP token with GSS_S_NO_CRED. So the Acceptor looks at
//   the first token itself (FreeRDP 2 sends raw NTLMSSP, Windows and FreeRDP 3 send SPNEGO) and
//   acquires the credential for that framing.
// - Minor codes are renumbered by the mechglue per process (always through SPNEGO), so failures
//   are classified by the mechanism's own text for the code, compared with the text the same
//   library gives for the known codes (see Failure).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "proxy/nla/password.hpp"
#include "rdp/bytes.hpp"

namespace rdpbridge::nla {

using rdp::Bytes;
using rdp::ByteView;

// Why an authentication step failed, for diagnosis (which explanation and fix to show).
enum class Failure {
    bad_credentials,        // the user exists but the proof does not match: wrong password
    unknown_user,           // no such user (gss-ntlmssp: not in the users file)
    expired,                // password, ticket or context expired
    mechanism_unavailable,  // gss-ntlmssp (or krb5) not installed/registered
    malformed_token,        // the peer's token is not what the protocol allows, or fails its check
    other,
};
std::string_view to_string(Failure f);

// A GSSAPI failure: both status codes and the library's text for both. The minor text is the
// mechanism's ("Invalid argument" = wrong password in gss-ntlmssp), which is what tells causes
// apart. Never contains a password.
struct GssError {
    Failure failure = Failure::other;
    std::string operation;  // "gss_accept_sec_context", or what our own check was doing
    uint32_t major = 0;     // 0 when the failure is our own check, not a GSSAPI call
    uint32_t minor = 0;
    std::string major_text;
    std::string minor_text;
    std::string detail;  // our explanation (what was expected, what to install)

    std::string message() const;
};

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
    Result(GssError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const GssError& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, GssError> v_;
};

struct Ok {};
using Status = Result<Ok>;

// What goes on the wire: raw NTLMSSP messages, or SPNEGO carrying NTLM (or, accepting, Kerberos).
enum class Framing { raw_ntlm, spnego };
// What authenticated, once a context is established (through SPNEGO: the negotiated mechanism).
enum class Mechanism { ntlm, kerberos, other };

std::string_view to_string(Framing f);
std::string_view to_string(Mechanism m);

// One step of a context: the token for the peer (may be empty) and whether the context is
// established. A SPNEGO acceptor can be done and still have a last token to send.
struct Step {
    Bytes token;
    bool done = false;
};

// The authenticated peer: NTLM "DOMAIN\user" or Kerberos "user@REALM", split. An NTLM client
// that sent no domain has an empty domain.
struct PeerName {
    std::string user;
    std::string domain;
};

// Whether `peer` (who authenticated) is the account user/domain: names compare as Windows does,
// case-insensitively, and an empty domain on either side matches any.
bool is_same_account(const PeerName& peer, std::string_view user, std::string_view domain);

// Whether gss-ntlmssp is registered with the GSSAPI library (/etc/gss/mech.d). The error names
// the package to install.
Status check_ntlm_available();

class Context;  // the GSSAPI handles; defined in gss.cpp

// --------------------------------------------------------------------------------- acceptor

enum class AcceptFraming { detect, raw_ntlm, spnego };

struct AcceptorConfig {
    AcceptFraming framing = AcceptFraming::detect;  // detect: from the client's first token
    // Host-based service name: "TERMSRV" (this host) or "TERMSRV@host.example".
    std::string service = "TERMSRV";
    // NTLM users, lines DOMAIN:USER:PASSWORD (or smbpasswd lines); empty: gss-ntlmssp's
    // defaults (NTLM_USER_FILE, then winbind).
    std::string users_file;
    // Kerberos keytab with TERMSRV/host keys; SPNEGO then offers Kerberos besides NTLM. Empty:
    // NTLM only (a default /etc/krb5.keytab is never used by accident).
    std::string keytab;
};

class Acceptor {
  public:
    static Result<Acceptor> create(AcceptorConfig config);
    Acceptor(Acceptor&&) noexcept;
    Acceptor& operator=(Acceptor&&) noexcept;
    ~Acceptor();

    // Feed the client's next token (the first one decides the framing in `detect` mode).
    Result<Step> step(ByteView token);

    bool established() const;
    Framing framing() const;      // valid after the first successful step
    Mechanism mechanism() const;  // valid once established
    const PeerName& client() const;

    // Seal (gss_wrap with confidentiality) / open a message; established contexts only.
    Result<Bytes> wrap(ByteView plaintext);
    Result<Bytes> unwrap(ByteView sealed);

  private:
    Acceptor(AcceptorConfig config);
    AcceptorConfig config_;
    Framing framing_ = Framing::raw_ntlm;
    Mechanism mechanism_ = Mechanism::other;
    PeerName client_;
    std::unique_ptr<Context> ctx_;
};

// -------------------------------------------------------------------------------- initiator

struct InitiatorConfig {
    Framing framing = Framing::raw_ntlm;  // spnego: SPNEGO offering NTLM only
    std::string user;
    std::string domain;  // may be empty
    Password password;
    std::string target;  // host-based service name of the host, "TERMSRV@host.example"
};

class Initiator {
  public:
    // Acquires the NTLM credential (the password is hashed by gss-ntlmssp and not kept).
    static Result<Initiator> create(InitiatorConfig config);
    Initiator(Initiator&&) noexcept;
    Initiator& operator=(Initiator&&) noexcept;
    ~Initiator();

    // First call with an empty token; then each token the host sent.
    Result<Step> step(ByteView token);

    bool established() const;
    Framing framing() const { return framing_; }

    Result<Bytes> wrap(ByteView plaintext);
    Result<Bytes> unwrap(ByteView sealed);

  private:
    Initiator(Framing framing);
    Framing framing_;
    std::unique_ptr<Context> ctx_;
};

}  // namespace rdpbridge::nla
