#include "rdp/credssp_server.hpp"

#include <algorithm>
#include <string>

namespace rdpbridge::rdp::credssp {

namespace {

// errorCode arrived with version 3. One status for every refusal: the one Windows sends for a
// wrong password, which clients turn into their "logon failed" message; the handshake log, not
// the client, gets the real reason.
constexpr uint32_t kFirstVersionWithErrorCode = 3;
constexpr uint32_t kStatusLogonFailure = 0xC000006D;

Failure malformed(const Error& error) {
    return {Cause::client_nla_malformed, error.message()};
}
Failure malformed(const char* field, std::string reason) {
    return malformed(Error{field, std::move(reason)});
}
Failure package_failed(const char* what, const Error& error) {
    return {Cause::client_nla_failed, std::string(what) + ": " + error.reason};
}

}  // namespace

Server::Server(SecurityPackage& package, ByteView public_key, bool hybrid_ex)
    : package_(package), public_key_(public_key.begin(), public_key.end()), hybrid_ex_(hybrid_ex) {}

ServerResult Server::receive(ByteView in, Bytes& to_client) {
    if (step_ == Step::ended)
        return Failure{Cause::internal_error, "credssp server: receive() after the run ended"};
    stream_.append(in);
    while (step_ != Step::ended) {
        auto request = stream_.next();
        if (!request) return fail(malformed(request.error()), to_client);
        if (!*request) return InProgress{};
        if (auto failure = on_request(**request, to_client))
            return fail(std::move(*failure), to_client);
    }
    if (hybrid_ex_) Writer(to_client).bytes(encode(EarlyUserAuthResult::granted));
    return Authenticated{std::move(*credentials_), version_, stream_.take_rest()};
}

std::optional<Failure> Server::on_request(const TsRequest& request, Bytes& out) {
    if (stream_.count() == 1) {
        if (request.version == 0) return malformed(field::version, "0 is no CredSSP version");
        version_ = std::min(kVersion, request.version);
    }
    if (request.error_code)
        return Failure{Cause::client_nla_failed,
                       std::string(field::error_code) +
                           ": the client gave up: " + error_code_to_string(*request.error_code)};
    if (auto failure = note_nonce(request)) return failure;
    if (step_ == Step::auth_info) return take_credentials(request);
    return exchange_tokens(request, out);
}

std::optional<Failure> Server::exchange_tokens(const TsRequest& request, Bytes& out) {
    if (request.auth_info)
        return malformed(field::auth_info,
                         "sent before the gateway's pubKeyAuth: credentials must not go to a "
                         "server that has not proved its key yet");
    auto token = single_nego_token(request);
    if (!token) return malformed(token.error());

    if (step_ == Step::pub_key_auth) {
        if (*token)
            return malformed(field::nego_tokens, "sent after the security package completed");
        if (!request.pub_key_auth)
            return malformed(field::pub_key_auth, "missing after the security package completed");
        return answer_pub_key_auth(*request.pub_key_auth, {}, out);
    }

    if (!*token) return malformed(field::nego_tokens, "missing while the security package runs");
    auto step = package_.step(**token);
    if (!step)
        return package_failed("credssp.nego_token: the security package refused the client",
                              step.error());
    if (!step->complete) {
        if (request.pub_key_auth)
            return malformed(field::pub_key_auth, "sent before the security package completed");
        if (step->token.empty())
            return Failure{Cause::client_nla_failed,
                           "credssp.nego_token: the security package wants more but has no "
                           "token to send"};
        TsRequest answer = reply();
        answer.nego_tokens.push_back(std::move(step->token));
        return send(answer, out);
    }
    step_ = Step::pub_key_auth;
    // NTLM: the AUTHENTICATE that completes the package comes with the client's pubKeyAuth, and
    // our last token (SPNEGO's mechListMIC), if any, goes with our pubKeyAuth.
    if (request.pub_key_auth) return answer_pub_key_auth(*request.pub_key_auth, step->token, out);
    // Kerberos: the AP-REQ completes the package; the client needs our AP-REP to complete its
    // side before it can seal its pubKeyAuth.
    if (step->token.empty()) return std::nullopt;
    TsRequest answer = reply();
    answer.nego_tokens.push_back(std::move(step->token));
    return send(answer, out);
}

std::optional<Failure> Server::answer_pub_key_auth(ByteView sealed, ByteView last_token,
                                                   Bytes& out) {
    if (version_ >= kFirstVersionWithNonce && !nonce_)
        return malformed(field::client_nonce, "missing, required with pubKeyAuth from version 5");
    const ByteView nonce = nonce_ ? ByteView(*nonce_) : ByteView{};
    auto plain = package_.unwrap(sealed);
    if (!plain)
        return package_failed("credssp.pub_key_auth: the security package could not unseal it",
                              plain.error());
    const auto expected = client_binding(version_, public_key_, nonce);
    if (!expected) return Failure{Cause::internal_error, expected.error().message()};
    if (!std::ranges::equal(plain->view(), *expected))
        return Failure{Cause::client_nla_binding_mismatch,
                       std::string(field::pub_key_auth) + ": the client bound the run (version " +
                           std::to_string(version_) +
                           ") to another public key than the gateway's certificate's"};

    const auto ours = server_binding(version_, public_key_, nonce);
    if (!ours) return Failure{Cause::internal_error, ours.error().message()};
    auto answer_value = package_.wrap(*ours);
    if (!answer_value)
        return package_failed("credssp.pub_key_auth: the security package could not seal ours",
                              answer_value.error());
    TsRequest answer = reply();
    answer.pub_key_auth = std::move(*answer_value);
    if (!last_token.empty()) answer.nego_tokens.emplace_back(last_token.begin(), last_token.end());
    if (auto failure = send(answer, out)) return failure;
    step_ = Step::auth_info;
    return std::nullopt;
}

std::optional<Failure> Server::take_credentials(const TsRequest& request) {
    if (!request.nego_tokens.empty() || request.pub_key_auth)
        return malformed(field::ts_request,
                         "expected authInfo alone after the gateway's pubKeyAuth");
    if (!request.auth_info)
        return malformed(field::auth_info, "missing after the gateway's pubKeyAuth");
    auto plain = package_.unwrap(*request.auth_info);
    if (!plain)
        return package_failed("credssp.auth_info: the security package could not unseal it",
                              plain.error());
    auto delegated = decode_ts_credentials(plain->view());
    if (!delegated) return malformed(delegated.error());
    if (const auto* none = std::get_if<NoPassword>(&*delegated))
        return Failure{Cause::client_delegated_no_password,
                       "credssp.ts_credentials: " + std::string(to_string(*none))};
    if (hybrid_ex_ && stream_.buffered() > 0)
        return malformed(field::ts_request,
                         std::to_string(stream_.buffered()) +
                             " byte(s) after authInfo: under HYBRID_EX the client "
                             "must wait for the Early User Authorization Result");
    credentials_ = std::move(std::get<PasswordCredentials>(*delegated));
    step_ = Step::ended;
    return std::nullopt;
}

// FreeRDP 2.11 sends its nonce in every TSRequest, Windows only with pubKeyAuth: either way it
// is one nonce per run.
std::optional<Failure> Server::note_nonce(const TsRequest& request) {
    if (!request.client_nonce) return std::nullopt;
    if (nonce_ && *nonce_ != *request.client_nonce)
        return malformed(field::client_nonce, "changed within the run");
    nonce_ = request.client_nonce;
    return std::nullopt;
}

std::optional<Failure> Server::send(const TsRequest& request, Bytes& out) {
    auto encoded = encode(request);
    if (!encoded)
        return Failure{Cause::client_nla_failed,
                       "the gateway's TSRequest: " + encoded.error().message()};
    Writer(out).bytes(*encoded);
    return std::nullopt;
}

// Our TSRequests announce the run's version: the client binds with the smaller of its own and
// ours, so answering min() keeps both sides on the same binding (FreeRDP 2.11 announces 6
// throughout, and binds per version 3 when told 3).
TsRequest Server::reply() const {
    TsRequest request;
    request.version = version_;
    return request;
}

Failure Server::fail(Failure failure, Bytes& out) {
    if (step_ == Step::auth_info) {
        if (hybrid_ex_) Writer(out).bytes(encode(EarlyUserAuthResult::denied));
    } else if (version_ >= kFirstVersionWithErrorCode) {
        TsRequest refusal = reply();
        refusal.error_code = kStatusLogonFailure;
        if (auto encoded = encode(refusal)) Writer(out).bytes(*encoded);  // a few bytes: fits
    }
    step_ = Step::ended;
    return failure;
}

Failure Server::peer_closed() const {
    std::string when;
    switch (step_) {
        case Step::nego_tokens:
            when = stream_.count() == 0
                       ? "before its first TSRequest"
                       : "during the negoTokens exchange, after " +
                             std::to_string(stream_.count()) +
                             " TSRequest(s): its security package gave up, or its user "
                             "cancelled the password prompt";
            break;
        case Step::pub_key_auth:
            when = "before sending its pubKeyAuth";
            break;
        case Step::auth_info:
            when =
                "after the gateway's pubKeyAuth, without delegating credentials: it may have "
                "rejected the gateway's binding (did it see another certificate?)";
            break;
        case Step::ended:
            when = "after CredSSP ended";
            break;
    }
    return Failure{Cause::client_closed, "the client closed the connection during CredSSP " + when};
}

}  // namespace rdpbridge::rdp::credssp
