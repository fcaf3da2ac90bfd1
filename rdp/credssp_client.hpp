// The client side of CredSSP ([MS-CSSP] 3.1.5), run towards the host (the back) right after
// TLS when the host selected HYBRID or HYBRID_EX: it authenticates to the host through the
// security package, checks that the host proves the key of the certificate our TLS saw, and
// only then delegates the password (the one the client gave the gateway's Server).
//
// Bytes in, bytes out, like Bridge: no socket, no clock, no randomness (the nonce is the
// caller's, from its CSPRNG).
#pragma once

#include <array>
#include <optional>
#include <variant>

#include "rdp/credssp.hpp"
#include "rdp/credssp_package.hpp"
#include "rdp/credssp_stream.hpp"
#include "rdp/diagnosis.hpp"

namespace rdpbridge::rdp::credssp {

struct Delegated {
    uint32_t version = 0;  // the CredSSP version of the run
};

// Ends in Delegated (the host has our credentials; under HYBRID_EX it also granted access) or
// Failure; each failure names the field or step.
using ClientResult = std::variant<InProgress, Delegated, Failure>;

class Client {
  public:
    // `package` is an initiator and must outlive the Client. `public_key` is the subjectPublicKey
    // of the certificate the host presented in our TLS handshake. `nonce` comes from a CSPRNG
    // (sent from version 5). `hybrid_ex`: the host selected PROTOCOL_HYBRID_EX.
    Client(SecurityPackage& package, ByteView public_key, PasswordCredentials credentials,
           const std::array<uint8_t, kNonceSize>& nonce, bool hybrid_ex);

    // The first TSRequest, appended to `to_host`; a Failure if the package refused to start.
    std::optional<Failure> start(Bytes& to_host);

    // Bytes from the host, in stream order and split anyhow; appends what the host must
    // receive. A failure sends nothing: the caller closes. Under HYBRID_EX the Client also
    // consumes the host's Early User Authorization Result (4 bytes, after our authInfo), since
    // `denied` is the outcome of this exchange; Delegated comes only once it said `granted`.
    // Bytes after the end of the run are refused: the host must wait for our MCS Connect
    // Initial.
    ClientResult receive(ByteView in, Bytes& to_host);

    // What to log when the host closes the connection before the run ended. Right after our
    // AUTHENTICATE and pubKeyAuth that is host_nla_logon_failure: FreeRDP-based hosts (and any
    // host below version 3) refuse a wrong password by closing, without errorCode.
    Failure peer_closed() const;

  private:
    enum class Step : uint8_t { idle, nego_tokens, pub_key_auth, early_result, ended };

    std::optional<Failure> on_request(const TsRequest& request, Bytes& out);
    std::optional<Failure> advance(const PackageStep& step, Bytes& out);
    std::optional<Failure> delegate(ByteView sealed, Bytes& out);
    ClientResult finish();
    std::optional<Failure> send(const TsRequest& request, Bytes& out);
    Failure fail(Failure failure);

    SecurityPackage& package_;
    Bytes public_key_;
    PasswordCredentials credentials_;  // wiped once sealed for the host
    std::array<uint8_t, kNonceSize> nonce_;
    bool hybrid_ex_;
    Step step_ = Step::idle;
    // min(ours, the host's), known from the host's first TSRequest. Until then (a package that
    // completes on its first token) we can only assume the host speaks ours.
    uint32_t version_ = kVersion;
    TsRequestStream stream_;
};

}  // namespace rdpbridge::rdp::credssp
