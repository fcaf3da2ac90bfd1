#include "rdp/credssp_client.hpp"

#include <algorithm>
#include <string>

namespace rdpbridge::rdp::credssp {

namespace {

Failure malformed(const Error& error) {
    return {Cause::host_nla_malformed, error.message()};
}
Failure malformed(const char* field, std::string reason) {
    return malformed(Error{field, std::move(reason)});
}
Failure package_failed(const char* what, const Error& error) {
    return {Cause::host_nla_failed, std::string(what) + ": " + error.reason};
}

}  // namespace

Client::Client(SecurityPackage& package, ByteView public_key, PasswordCredentials credentials,
               const std::array<uint8_t, kNonceSize>& nonce, bool hybrid_ex)
    : package_(package),
      public_key_(public_key.begin(), public_key.end()),
      credentials_(std::move(credentials)),
      nonce_(nonce),
      hybrid_ex_(hybrid_ex) {}

std::optional<Failure> Client::start(Bytes& to_host) {
    if (step_ != Step::idle)
        return Failure{Cause::internal_error, "credssp client: start() called twice"};
    step_ = Step::nego_tokens;
    auto step = package_.step({});
    if (!step)
        return fail(package_failed("credssp.nego_token: the security package could not start",
                                   step.error()));
    if (auto failure = advance(*step, to_host)) return fail(std::move(*failure));
    return std::nullopt;
}

ClientResult Client::receive(ByteView in, Bytes& to_host) {
    if (step_ == Step::idle || step_ == Step::ended)
        return Failure{Cause::internal_error, "credssp client: receive() outside the run"};
    stream_.append(in);
    while (step_ == Step::nego_tokens || step_ == Step::pub_key_auth) {
        auto request = stream_.next();
        if (!request) return fail(malformed(request.error()));
        if (!*request) return InProgress{};
        if (auto failure = on_request(**request, to_host)) return fail(std::move(*failure));
    }
    return finish();
}

std::optional<Failure> Client::on_request(const TsRequest& request, Bytes& out) {
    if (stream_.count() == 1) {
        if (request.version == 0) return malformed(field::version, "0 is no CredSSP version");
        version_ = std::min(kVersion, request.version);
    }
    if (request.error_code)
        return Failure{Cause::host_nla_logon_failure,
                       std::string(field::error_code) + ": the host refused the logon with " +
                           error_code_to_string(*request.error_code)};
    if (request.auth_info) return malformed(field::auth_info, "sent by the host");
    // A clientNonce from the host is ignored: freerdp-shadow-cli 2.11 sends one of its own with
    // its CHALLENGE and echoes ours; the binding uses ours.
    auto token = single_nego_token(request);
    if (!token) return malformed(token.error());

    if (step_ == Step::nego_tokens) {
        if (request.pub_key_auth)
            return malformed(field::pub_key_auth, "sent before the gateway's");
        if (!*token)
            return malformed(field::nego_tokens, "missing while the security package runs");
        auto step = package_.step(**token);
        if (!step)
            return package_failed("credssp.nego_token: the security package refused the host",
                                  step.error());
        return advance(*step, out);
    }

    if (!request.pub_key_auth)
        return malformed(field::pub_key_auth, "missing: the host did not answer the gateway's");
    if (*token) {
        // SPNEGO's mechListMIC: the last token of a package that could seal before it completed.
        auto step = package_.step(**token);
        if (!step)
            return package_failed(
                "credssp.nego_token: the security package refused the host's "
                "last token",
                step.error());
        if (!step->token.empty())
            return Failure{Cause::host_nla_failed,
                           "credssp.nego_token: the security package has a token to send after "
                           "the host's pubKeyAuth"};
    }
    return delegate(*request.pub_key_auth, out);
}

// Our next TSRequest: the package's token, and pubKeyAuth as soon as it can seal. NTLM's
// AUTHENTICATE thus travels with pubKeyAuth, as hosts expect.
std::optional<Failure> Client::advance(const PackageStep& step, Bytes& out) {
    TsRequest request;  // announces our version, as FreeRDP and Windows do in every TSRequest
    if (!step.token.empty()) request.nego_tokens.push_back(step.token);
    if (step.complete) {
        const auto binding = client_binding(version_, public_key_, nonce_);
        if (!binding) return Failure{Cause::internal_error, binding.error().message()};
        auto sealed = package_.wrap(*binding);
        if (!sealed)
            return package_failed("credssp.pub_key_auth: the security package could not seal it",
                                  sealed.error());
        request.pub_key_auth = std::move(*sealed);
        if (version_ >= kFirstVersionWithNonce)
            request.client_nonce = Bytes(nonce_.begin(), nonce_.end());
        step_ = Step::pub_key_auth;
    } else if (step.token.empty()) {
        return Failure{Cause::host_nla_failed,
                       "credssp.nego_token: the security package wants more but has no token to "
                       "send"};
    }
    return send(request, out);
}

// The host proved it holds the key our TLS saw: only now does the password leave.
std::optional<Failure> Client::delegate(ByteView sealed, Bytes& out) {
    auto plain = package_.unwrap(sealed);
    if (!plain)
        return package_failed("credssp.pub_key_auth: the security package could not unseal it",
                              plain.error());
    const auto expected = server_binding(version_, public_key_, nonce_);
    if (!expected) return Failure{Cause::internal_error, expected.error().message()};
    if (!std::ranges::equal(plain->view(), *expected))
        return Failure{Cause::host_nla_binding_mismatch,
                       std::string(field::pub_key_auth) + ": the host's answer (version " +
                           std::to_string(version_) +
                           ") does not bind to the public key of the certificate it presented; "
                           "no credentials were sent"};

    auto credentials = encode_ts_credentials(credentials_);
    credentials_ = PasswordCredentials{};  // the password is needed no more
    if (!credentials) return Failure{Cause::internal_error, credentials.error().message()};
    auto sealed_credentials = package_.wrap(credentials->view());
    if (!sealed_credentials)
        return package_failed("credssp.auth_info: the security package could not seal it",
                              sealed_credentials.error());
    TsRequest request;
    request.auth_info = std::move(*sealed_credentials);
    if (auto failure = send(request, out)) return failure;
    step_ = hybrid_ex_ ? Step::early_result : Step::ended;
    return std::nullopt;
}

// After our authInfo the host sends no TSRequest: under HYBRID_EX its Early User Authorization
// Result, otherwise nothing until our MCS Connect Initial.
ClientResult Client::finish() {
    if (step_ == Step::early_result) {
        if (stream_.buffered() < kEarlyUserAuthResultSize) return InProgress{};
        const Bytes rest = stream_.take_rest();
        if (rest.size() > kEarlyUserAuthResultSize)
            return fail(malformed(field::early_user_auth,
                                  std::to_string(rest.size() - kEarlyUserAuthResultSize) +
                                      " byte(s) after it, before the gateway's MCS Connect "
                                      "Initial"));
        auto result = decode_early_user_auth_result(rest);
        if (!result) return fail(malformed(result.error()));
        if (*result == EarlyUserAuthResult::denied)
            return fail(Failure{Cause::host_nla_access_denied,
                                std::string(field::early_user_auth) + ": access denied"});
    } else if (stream_.buffered() > 0) {
        return fail(
            malformed(field::ts_request, std::to_string(stream_.buffered()) +
                                             " byte(s) after the host's pubKeyAuth, before the "
                                             "gateway's MCS Connect Initial"));
    }
    step_ = Step::ended;
    return Delegated{version_};
}

std::optional<Failure> Client::send(const TsRequest& request, Bytes& out) {
    auto encoded = encode(request);
    if (!encoded)
        return Failure{Cause::host_nla_failed,
                       "the gateway's TSRequest: " + encoded.error().message()};
    Writer(out).bytes(*encoded);
    return std::nullopt;
}

Failure Client::fail(Failure failure) {
    step_ = Step::ended;
    credentials_ = PasswordCredentials{};
    return failure;
}

Failure Client::peer_closed() const {
    switch (step_) {
        case Step::pub_key_auth:
            return Failure{Cause::host_nla_logon_failure,
                           "the host closed the connection after the gateway's credentials "
                           "(AUTHENTICATE and pubKeyAuth) without an errorCode: most likely a "
                           "wrong password (FreeRDP-based hosts refuse so)"};
        case Step::early_result:
            return Failure{Cause::host_closed,
                           "the host closed the connection after the gateway delegated "
                           "credentials, before its Early User Authorization Result"};
        case Step::idle:
        case Step::nego_tokens:
            return Failure{Cause::host_closed,
                           "the host closed the connection during CredSSP's negoTokens "
                           "exchange, after " +
                               std::to_string(stream_.count()) + " TSRequest(s) from it"};
        case Step::ended:
            break;
    }
    return Failure{Cause::host_closed, "the host closed the connection after CredSSP ended"};
}

}  // namespace rdpbridge::rdp::credssp
