// The security package a CredSSP run authenticates with (NTLM or Kerberos, usually behind
// SPNEGO): one GSS security context, seen from rdp/ as an object that turns the peer's tokens
// into ours and seals and unseals. The implementation lives in proxy/ over gss_init_sec_context
// / gss_accept_sec_context, gss_wrap and gss_unwrap; rdp/ never calls GSSAPI (no I/O, no
// libraries beyond libcrypto), and tests drive the state machines with a scripted fake.
#pragma once

#include "rdp/bytes.hpp"
#include "rdp/secret.hpp"

namespace rdpbridge::rdp::credssp {

struct PackageStep {
    Bytes token;  // for the peer's next negoToken; empty when there is nothing to send
    // The context can seal and unseal now: GSS_S_COMPLETE, or GSS_S_CONTINUE_NEEDED with
    // GSS_C_PROT_READY_FLAG while it waits for the peer's last token (SPNEGO's mechListMIC).
    // CredSSP sends pubKeyAuth as soon as this is true, and a last token from the peer then
    // arrives together with the peer's pubKeyAuth, to be passed to step() before unwrap().
    bool complete = false;
};

class SecurityPackage {
  public:
    virtual ~SecurityPackage() = default;

    // The initiator's first call gets an empty `peer_token`. An Error means the package refused
    // (wrong password, unknown user, no shared mechanism...); its reason is the package's own
    // text and goes into the handshake log, so it must not hold a password.
    virtual Result<PackageStep> step(ByteView peer_token) = 0;
    // Sealing with confidentiality (gss_wrap with conf_req_flag, EncryptMessage): the output is
    // opaque and safe to send; the input may be a password (TSCredentials).
    virtual Result<Bytes> wrap(ByteView plain) = 0;
    // The plaintext of what the peer sealed; it may hold the client's password.
    virtual Result<Secret> unwrap(ByteView sealed) = 0;
};

}  // namespace rdpbridge::rdp::credssp
