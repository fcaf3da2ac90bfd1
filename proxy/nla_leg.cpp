#include "proxy/nla_leg.hpp"

#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>

#include "proxy/nla/gss.hpp"
#include "proxy/nla/package.hpp"
#include "rdp/crypto.hpp"

namespace rdpbridge::proxy {

namespace {

using boost::system::error_code;
using rdp::Cause;

// The subjectPublicKey of a certificate: what CredSSP binds a run to (pubKeyAuth).
std::optional<rdp::Bytes> public_key_of(X509* certificate) {
    if (!certificate) return std::nullopt;
    const int size = i2d_X509(certificate, nullptr);
    if (size <= 0) return std::nullopt;
    rdp::Bytes der(static_cast<std::size_t>(size));
    unsigned char* out = der.data();
    i2d_X509(certificate, &out);
    return rdp::crypto::x509_subject_public_key(der);
}

awaitable<void> send(TlsStream& stream, rdp::Bytes& bytes, error_code& ec) {
    if (bytes.empty()) co_return;
    co_await asio::async_write(stream, asio::buffer(bytes),
                               asio::redirect_error(use_awaitable, ec));
    bytes.clear();
}

// Feeds what the peer sends to `machine` (a credssp::Server or Client) and sends what it answers,
// until it stops saying InProgress. A closed or failed connection ends it with peer_closed().
// `machine.receive` calls into GSSAPI, which may block (see BlockingPool): it runs on `blocking`.
template <class Machine, class Outcome>
awaitable<Outcome> converse(TlsStream& stream, Machine& machine, rdp::Bytes& out,
                            BlockingPool& blocking) {
    std::array<uint8_t, 4096> chunk;
    error_code ec;
    for (;;) {
        co_await send(stream, out, ec);
        if (ec) co_return Outcome{machine.peer_closed()};
        const std::size_t n = co_await stream.async_read_some(
            asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
        if (ec) co_return Outcome{machine.peer_closed()};
        auto result = co_await blocking.call(
            [&] { return machine.receive(rdp::ByteView(chunk.data(), n), out); });
        if (std::holds_alternative<rdp::credssp::InProgress>(result)) continue;
        co_await send(stream, out, ec);  // the last message, or the refusal that explains
        co_return std::visit(
            [](auto&& r) -> Outcome {
                if constexpr (std::is_same_v<std::decay_t<decltype(r)>, rdp::credssp::InProgress>)
                    return Outcome{rdp::Failure{Cause::internal_error, "CredSSP did not end"}};
                else
                    return Outcome{std::move(r)};
            },
            std::move(result));
    }
}

// The password the client delegates must be the account it authenticated as: otherwise a user
// known to the gateway could have it log on to hosts as someone else.
std::optional<rdp::Failure> check_same_account(const nla::PeerName& authenticated,
                                               const rdp::credssp::PasswordCredentials& delegated) {
    if (nla::is_same_account(authenticated, delegated.user, delegated.domain)) return std::nullopt;
    return rdp::Failure{Cause::client_nla_failed,
                        "the client authenticated as " + authenticated.domain + "\\" +
                            authenticated.user + " but delegated the credentials of " +
                            delegated.domain + "\\" + delegated.user +
                            "; the gateway logs on to hosts only as the user it authenticated"};
}

}  // namespace

awaitable<std::variant<rdp::credssp::Authenticated, rdp::Failure>> run_front_nla(
    TlsStream& front, const std::filesystem::path& users_file,
    const std::optional<std::filesystem::path>& keytab, bool hybrid_ex, BlockingPool& blocking) {
    using Outcome = std::variant<rdp::credssp::Authenticated, rdp::Failure>;
    const auto key = public_key_of(SSL_get_certificate(front.native_handle()));
    if (!key) co_return rdp::Failure{Cause::internal_error, "no public key in our certificate"};
    auto acceptor = co_await blocking.call([&] {
        return nla::Acceptor::create({nla::AcceptFraming::detect, "TERMSRV", users_file.string(),
                                      keytab ? keytab->string() : std::string()});
    });
    if (!acceptor) co_return rdp::Failure{Cause::internal_error, acceptor.error().message()};
    nla::GssPackage package(*acceptor);
    rdp::credssp::Server server(package, *key, hybrid_ex);
    rdp::Bytes out;
    auto outcome = co_await converse<rdp::credssp::Server, Outcome>(front, server, out, blocking);
    if (auto* ok = std::get_if<rdp::credssp::Authenticated>(&outcome)) {
        if (auto mismatch = check_same_account(acceptor->client(), ok->credentials))
            co_return std::move(*mismatch);
    }
    co_return outcome;
}

awaitable<std::variant<uint32_t, rdp::Failure>> run_back_nla(
    TlsStream& back, const std::string& host, rdp::credssp::PasswordCredentials credentials,
    bool hybrid_ex, BlockingPool& blocking) {
    using Outcome = std::variant<rdp::credssp::Delegated, rdp::Failure>;
    std::unique_ptr<X509, decltype(&X509_free)> certificate(
        SSL_get1_peer_certificate(back.native_handle()), X509_free);
    const auto key = public_key_of(certificate.get());
    if (!key) co_return rdp::Failure{Cause::internal_error, "the host presented no certificate"};
    auto password = rdp::credssp::password_to_utf8(credentials.password);
    if (!password) co_return rdp::Failure{Cause::internal_error, password.error().message()};
    const std::string_view text(reinterpret_cast<const char*>(password->view().data()),
                                password->size());
    auto initiator = co_await blocking.call([&] {
        return nla::Initiator::create({nla::Framing::raw_ntlm, credentials.user, credentials.domain,
                                       nla::Password(text), "TERMSRV@" + host});
    });
    if (!initiator) co_return rdp::Failure{Cause::host_nla_failed, initiator.error().message()};
    nla::GssPackage package(*initiator);
    std::array<uint8_t, rdp::credssp::kNonceSize> nonce{};
    if (RAND_bytes(nonce.data(), int(nonce.size())) != 1)
        co_return rdp::Failure{Cause::internal_error, "no random bytes for the CredSSP nonce"};
    rdp::credssp::Client client(package, *key, std::move(credentials), nonce, hybrid_ex);
    rdp::Bytes out;
    if (auto failed = co_await blocking.call([&] { return client.start(out); }))
        co_return std::move(*failed);
    auto outcome = co_await converse<rdp::credssp::Client, Outcome>(back, client, out, blocking);
    if (auto* failure = std::get_if<rdp::Failure>(&outcome)) co_return std::move(*failure);
    co_return std::get<rdp::credssp::Delegated>(outcome).version;
}

}  // namespace rdpbridge::proxy
