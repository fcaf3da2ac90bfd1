// The server side of CredSSP ([MS-CSSP] 3.1.5), run towards the client (the front) right after
// TLS when HYBRID or HYBRID_EX was selected: it authenticates the client through the security
// package, checks that the client bound the run to our TLS certificate, proves the same back,
// and takes the password the client delegates, which the gateway needs to log on to the host.
//
// Bytes in, bytes out, like Bridge: no socket, no clock; the caller reads TLS, calls receive(),
// sends what it appended, and enforces the handshake deadline.
#pragma once

#include <optional>
#include <variant>

#include "rdp/credssp.hpp"
#include "rdp/credssp_package.hpp"
#include "rdp/credssp_stream.hpp"
#include "rdp/diagnosis.hpp"

namespace rdpbridge::rdp::credssp {

struct Authenticated {
    PasswordCredentials credentials;  // what the client delegated; never log the password
    uint32_t version = 0;             // the CredSSP version of the run
    // Bytes the client sent after its authInfo: under HYBRID the start of its MCS Connect
    // Initial, for the Bridge. Always empty under HYBRID_EX, where the client must wait for the
    // Early User Authorization Result first.
    Bytes rest;
};

// Ends in Authenticated or Failure; each failure names the field or step. A client that
// delegates no password (Restricted Admin, Remote Credential Guard, smart card) fails with
// client_delegated_no_password: the gateway has nothing to log on to the host with.
using ServerResult = std::variant<InProgress, Authenticated, Failure>;

class Server {
  public:
    // `package` is an acceptor and must outlive the Server. `public_key` is the subjectPublicKey
    // of the certificate our TLS presented to this client (crypto::x509_subject_public_key).
    // `hybrid_ex`: the client was given PROTOCOL_HYBRID_EX, so the run ends with the Early User
    // Authorization Result.
    Server(SecurityPackage& package, ByteView public_key, bool hybrid_ex);

    // Bytes from the client, in stream order and split anyhow. Appends to `to_client` what the
    // client must receive, on failure too: send it, then close. What a failure sends:
    //  - before the client delegated credentials, a TSRequest with errorCode
    //    STATUS_LOGON_FAILURE when the run's version is 3 or more (the client reads TSRequests
    //    then, and FreeRDP reports ERRCONNECT_LOGON_FAILURE); nothing for older versions;
    //  - after it (the client no longer reads TSRequests), the Early User Authorization Result
    //    `denied` under HYBRID_EX, nothing under HYBRID.
    // On success `to_client` ends with the Early User Authorization Result `granted` under
    // HYBRID_EX: [MS-RDPBCGR] 2.2.10.2 sends it immediately after a completed CredSSP run, so
    // it never follows a failed authentication (that gets errorCode, like HYBRID).
    ServerResult receive(ByteView in, Bytes& to_client);

    // What to log when the client closes the connection before the run ended: client_closed,
    // with how far the run got.
    Failure peer_closed() const;

  private:
    enum class Step : uint8_t { nego_tokens, pub_key_auth, auth_info, ended };

    std::optional<Failure> on_request(const TsRequest& request, Bytes& out);
    std::optional<Failure> exchange_tokens(const TsRequest& request, Bytes& out);
    std::optional<Failure> answer_pub_key_auth(ByteView sealed, ByteView last_token, Bytes& out);
    std::optional<Failure> take_credentials(const TsRequest& request);
    std::optional<Failure> note_nonce(const TsRequest& request);
    std::optional<Failure> send(const TsRequest& request, Bytes& out);
    TsRequest reply() const;
    Failure fail(Failure failure, Bytes& out);

    SecurityPackage& package_;
    Bytes public_key_;
    bool hybrid_ex_;
    Step step_ = Step::nego_tokens;
    uint32_t version_ = 0;  // min(ours, the client's), known from the client's first TSRequest
    std::optional<Bytes> nonce_;
    std::optional<PasswordCredentials> credentials_;
    TsRequestStream stream_;
};

}  // namespace rdpbridge::rdp::credssp
