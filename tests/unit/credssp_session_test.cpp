// The CredSSP state machines (rdp/credssp_server.hpp, rdp/credssp_client.hpp) with a scripted
// security package: the gateway's Server and Client talk to each other in-process, NTLM-,
// SPNEGO- and Kerberos-shaped, versions 2 to 6, HYBRID and HYBRID_EX, whole and byte by byte;
// each failure path ends in its cause and names its step; and the real captured exchanges
// (tests/fixtures/credssp/, see its README) replay into them: FreeRDP 2.11's client messages
// into the Server, freerdp-shadow-cli 2.11's server messages into the Client, with the
// plaintexts the capture unsealed standing in for the package's unwrap.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "fixtures.hpp"
#include "rdp/credssp.hpp"
#include "rdp/credssp_client.hpp"
#include "rdp/credssp_server.hpp"
#include "rdp/crypto.hpp"

using namespace rdpbridge::rdp;
using namespace rdpbridge::rdp::credssp;
using rdpbridge::test::fixture;

namespace {

constexpr std::string_view kPassword = "s3cret-Pa55";
constexpr uint32_t kStatusLogonFailure = 0xC000006D;

Bytes bytes_of(std::string_view text) {
    return Bytes(text.begin(), text.end());
}
std::string text_of(ByteView bytes) {
    return std::string(bytes.begin(), bytes.end());
}
Bytes credssp_fixture(const std::string& name) {
    return fixture("credssp/" + name);
}

TsRequest decoded(ByteView pdu) {
    auto r = decode_ts_request(pdu);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : TsRequest{};
}
Bytes encoded(const TsRequest& request) {
    auto r = encode(request);
    EXPECT_TRUE(r);
    return r ? *r : Bytes{};
}

// ----------------------------------------------------------------------------- fake package

// One scripted step: the peer token it expects (text) and what it answers.
struct Move {
    std::string in;
    std::string out;
    bool complete;
};

// Token shapes of the real packages, each side's script in order.
struct Mechanism {
    const char* name;
    std::vector<Move> initiator;
    std::vector<Move> acceptor;
};
const Mechanism kNtlm{"ntlm",
                      {{"", "NEGOTIATE", false}, {"CHALLENGE", "AUTHENTICATE", true}},
                      {{"NEGOTIATE", "CHALLENGE", false}, {"AUTHENTICATE", "", true}}};
// SPNEGO around NTLM: the acceptor completes with a mechListMIC, which the initiator (able to
// seal since its AUTHENTICATE) receives together with the acceptor's pubKeyAuth.
const Mechanism kSpnego{
    "spnego",
    {{"", "NEGOTIATE", false}, {"CHALLENGE", "AUTHENTICATE", true}, {"MIC", "", true}},
    {{"NEGOTIATE", "CHALLENGE", false}, {"AUTHENTICATE", "MIC", true}}};
// Kerberos with mutual authentication: the AP-REQ completes the acceptor, the AP-REP the
// initiator, which only then seals its pubKeyAuth.
const Mechanism kKerberos{
    "kerberos", {{"", "AP-REQ", false}, {"AP-REP", "", true}}, {{"AP-REQ", "AP-REP", true}}};

// Seals as "SEALED" + the plaintext XOR 0x5A, so that tests can read what was sealed; or, for
// the captured runs, unseals by table what the real package sealed.
class FakePackage : public SecurityPackage {
  public:
    explicit FakePackage(std::vector<Move> script) : script_(std::move(script)) {}

    std::string refuse_on;  // a peer token the package refuses ("wrong password")
    std::vector<std::pair<Bytes, Bytes>> unseal_table;  // sealed, plaintext
    std::vector<Bytes> sealed_plaintexts;               // what wrap() was given, in order
    // Recognises a captured NTLM token by its message type instead of by text.
    bool ntlm_by_type = false;

    Result<PackageStep> step(ByteView peer_token) override {
        const std::string token = text_of(peer_token);
        if (!refuse_on.empty() && token == refuse_on)
            return Error{"fake", "the package refused the token (wrong password)"};
        if (next_ == script_.size()) return Error{"fake", "no more steps"};
        const Move& move = script_[next_++];
        if (ntlm_by_type ? ntlm_type(token) != ntlm_type(move.in) : token != move.in)
            return Error{"fake", "unexpected token"};
        return PackageStep{bytes_of(move.out), move.complete};
    }
    Result<Bytes> wrap(ByteView plain) override {
        sealed_plaintexts.emplace_back(plain.begin(), plain.end());
        Bytes out = bytes_of("SEALED");
        for (uint8_t b : plain) out.push_back(b ^ 0x5A);
        return out;
    }
    Result<Secret> unwrap(ByteView sealed) override {
        for (const auto& [known, plain] : unseal_table)
            if (std::ranges::equal(known, sealed)) return Secret(ByteView(plain));
        if (sealed.size() < 6 || text_of(sealed.first(6)) != "SEALED")
            return Error{"fake", "not sealed by this context"};
        Bytes plain;
        for (uint8_t b : sealed.subspan(6)) plain.push_back(b ^ 0x5A);
        return Secret(std::move(plain));
    }
    std::size_t steps() const { return next_; }

  private:
    // NTLMSSP\0 + type, or the script's own names for the three messages.
    static int ntlm_type(const std::string& t) {
        if (t.size() >= 12 && t.compare(0, 8, std::string("NTLMSSP\0", 8)) == 0) return t[8];
        if (t == "NEGOTIATE") return 1;
        if (t == "CHALLENGE") return 2;
        if (t == "AUTHENTICATE") return 3;
        return 0;
    }

    std::vector<Move> script_;
    std::size_t next_ = 0;
};

Bytes sealed(std::string_view plain) {
    FakePackage p({});
    return *p.wrap(bytes_of(plain));
}
Bytes sealed(ByteView plain) {
    FakePackage p({});
    return *p.wrap(plain);
}

// ----------------------------------------------------------------------------- parties

const Bytes kKey = bytes_of("the gateway's subjectPublicKey, an RSAPublicKey in real life");
const Bytes kOtherKey = bytes_of("an interceptor's subjectPublicKey");
constexpr std::array<uint8_t, kNonceSize> kNonce = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                                    12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                                    23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

PasswordCredentials credentials() {
    return {"LAB", "labuser", password_from_utf8(kPassword).value()};
}

std::string password_text(const Secret& utf16le) {
    auto utf8 = password_to_utf8(utf16le);
    return utf8 ? text_of(utf8->view()) : "(not UTF-16)";
}

void expect_no_password(const Failure& failure) {
    EXPECT_EQ(failure.detail.find(kPassword), std::string::npos) << failure.detail;
}

// The alternative a run ended in; a reference into `v`, so `v` must be a variable.
template <class T, class Variant>
const T& as(const Variant& v) {
    static const T none{};
    EXPECT_TRUE(std::holds_alternative<T>(v)) << "index " << v.index();
    return std::holds_alternative<T>(v) ? std::get<T>(v) : none;
}
template <class T, class Variant>
const T& as(const Variant&& v) = delete;

// The failure a run ended in, checked for the password.
template <class Variant>
Failure failure_of(const Variant& v) {
    EXPECT_TRUE(std::holds_alternative<Failure>(v)) << "index " << v.index();
    if (!std::holds_alternative<Failure>(v)) return {Cause::internal_error, "(no failure)"};
    expect_no_password(std::get<Failure>(v));
    return std::get<Failure>(v);
}

// The errorCode a failing Server sent, nullopt if it sent no TSRequest.
std::optional<uint32_t> error_code_in(const Bytes& out) {
    if (out.empty()) return std::nullopt;
    return decoded(out).error_code;
}

// The Server and the Client of one run, wired back to back.
struct Pair {
    explicit Pair(const Mechanism& m, bool hybrid_ex = false, ByteView client_sees = kKey)
        : client_package(m.initiator),
          server_package(m.acceptor),
          server(server_package, kKey, hybrid_ex),
          client(client_package, client_sees, credentials(), kNonce, hybrid_ex) {}

    FakePackage client_package;
    FakePackage server_package;
    Server server;
    Client client;
    ServerResult server_result;
    ClientResult client_result;
    std::vector<TsRequest> client_sent;  // every TSRequest the Server received, as it got it
    std::vector<Bytes> server_sent;      // each receive()'s output

    // Moves bytes both ways, `chunk` bytes per call, until neither side has anything to say.
    // `announce`: the version the client's TSRequests carry on the wire, as an older client's
    // would (the relay rewrites them).
    void go(std::size_t chunk = SIZE_MAX, uint32_t announce = kVersion) {
        Bytes to_server;
        ASSERT_FALSE(client.start(to_server));
        while (!to_server.empty()) {
            to_server = relay(to_server, announce);
            Bytes to_client;
            for (std::size_t at = 0; at < to_server.size() && running(server_result); at += chunk) {
                const std::size_t n = std::min(chunk, to_server.size() - at);
                server_result = server.receive(ByteView(to_server).subspan(at, n), to_client);
            }
            server_sent.push_back(to_client);
            to_server.clear();
            for (std::size_t at = 0; at < to_client.size() && running(client_result); at += chunk) {
                const std::size_t n = std::min(chunk, to_client.size() - at);
                client_result = client.receive(ByteView(to_client).subspan(at, n), to_server);
            }
        }
    }

    Bytes relay(const Bytes& from_client, uint32_t announce) {
        TsRequest request = decoded(from_client);
        request.version = announce;
        client_sent.push_back(request);
        return encoded(request);
    }

    template <class Variant>
    static bool running(const Variant& v) {
        return std::holds_alternative<InProgress>(v);
    }
};

// ----------------------------------------------------------------------------- together

struct Case {
    const Mechanism* mechanism;
    uint32_t version;
    bool hybrid_ex;
};
std::ostream& operator<<(std::ostream& os, const Case& c) {
    return os << c.mechanism->name << "_v" << c.version << (c.hybrid_ex ? "_hybrid_ex" : "");
}

std::vector<Case> all_cases() {
    std::vector<Case> cases;
    for (const Mechanism* m : {&kNtlm, &kSpnego, &kKerberos})
        for (uint32_t v = 2; v <= kVersion; ++v)
            for (bool ex : {false, true}) cases.push_back({m, v, ex});
    return cases;
}

class CredsspTogether : public ::testing::TestWithParam<Case> {};

TEST_P(CredsspTogether, DelegatesThePasswordBoundToTheKey) {
    const Case& c = GetParam();
    Pair run(*c.mechanism, c.hybrid_ex);
    run.go(SIZE_MAX, c.version);

    const auto& authenticated = as<Authenticated>(run.server_result);
    EXPECT_EQ(authenticated.version, c.version);
    EXPECT_EQ(authenticated.credentials.domain, "LAB");
    EXPECT_EQ(authenticated.credentials.user, "labuser");
    EXPECT_EQ(password_text(authenticated.credentials.password), kPassword);
    EXPECT_TRUE(authenticated.rest.empty());
    EXPECT_EQ(as<Delegated>(run.client_result).version, c.version);

    // Each side sealed its binding for the run's version, with the nonce from version 5.
    const ByteView nonce = c.version >= kFirstVersionWithNonce ? ByteView(kNonce) : ByteView{};
    ASSERT_EQ(run.client_package.sealed_plaintexts.size(), 2u);  // pubKeyAuth, TSCredentials
    EXPECT_EQ(run.client_package.sealed_plaintexts[0],
              client_binding(c.version, kKey, kNonce).value());
    ASSERT_EQ(run.server_package.sealed_plaintexts.size(), 1u);
    EXPECT_EQ(run.server_package.sealed_plaintexts[0],
              server_binding(c.version, kKey, nonce).value());

    // The nonce goes with pubKeyAuth from version 5 only; authInfo travels alone.
    for (const TsRequest& sent : run.client_sent) {
        EXPECT_EQ(sent.client_nonce.has_value(),
                  sent.pub_key_auth.has_value() && c.version >= kFirstVersionWithNonce);
        if (sent.auth_info) {
            EXPECT_TRUE(sent.nego_tokens.empty() && !sent.pub_key_auth);
        }
    }
    // The Server answers with the smaller version, and under HYBRID_EX ends with `granted`.
    const Bytes& last = run.server_sent.back();
    if (c.hybrid_ex) {
        ASSERT_EQ(last.size(), kEarlyUserAuthResultSize);
        EXPECT_EQ(last, encode(EarlyUserAuthResult::granted));
    } else {
        EXPECT_TRUE(last.empty());
    }
    for (const Bytes& out : run.server_sent)
        if (out.size() > kEarlyUserAuthResultSize) {
            EXPECT_EQ(decoded(out).version, c.version);
        }
}

INSTANTIATE_TEST_SUITE_P(All, CredsspTogether, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) {
                             std::ostringstream os;
                             os << info.param;
                             return os.str();
                         });

TEST(CredsspPair, ByteByByte) {
    for (const Mechanism* m : {&kNtlm, &kSpnego, &kKerberos}) {
        Pair run(*m, true);
        run.go(1);
        EXPECT_EQ(as<Authenticated>(run.server_result).version, kVersion) << m->name;
        EXPECT_EQ(as<Delegated>(run.client_result).version, kVersion) << m->name;
    }
}

TEST(CredsspPair, NtlmTakesThreeMessagesKerberosTwoPlusOne) {
    Pair ntlm(kNtlm);
    ntlm.go();
    ASSERT_EQ(ntlm.client_sent.size(), 3u);
    EXPECT_TRUE(ntlm.client_sent[1].pub_key_auth);  // AUTHENTICATE and pubKeyAuth together
    EXPECT_EQ(ntlm.client_sent[1].nego_tokens.size(), 1u);

    Pair spnego(kSpnego);
    spnego.go();
    // The acceptor's mechListMIC travels with its pubKeyAuth.
    const TsRequest answer = decoded(spnego.server_sent[1]);
    ASSERT_EQ(answer.nego_tokens.size(), 1u);
    EXPECT_EQ(text_of(answer.nego_tokens[0]), "MIC");
    EXPECT_TRUE(answer.pub_key_auth);
    EXPECT_EQ(spnego.client_package.steps(), 3u);

    Pair kerberos(kKerberos);
    kerberos.go();
    ASSERT_EQ(kerberos.client_sent.size(), 3u);
    EXPECT_FALSE(kerberos.client_sent[0].pub_key_auth);        // AP-REQ alone
    EXPECT_TRUE(kerberos.client_sent[1].nego_tokens.empty());  // then pubKeyAuth alone
    EXPECT_TRUE(kerberos.client_sent[1].pub_key_auth);
}

// ----------------------------------------------------------------------------- Server failures

// The Server fed whole TSRequests, one receive() each, until it ends.
struct ServerFeed {
    explicit ServerFeed(std::vector<Move> script, bool hybrid_ex = false)
        : package(std::move(script)), server(package, kKey, hybrid_ex) {}
    ServerResult feed(ByteView bytes) {
        out.clear();
        return server.receive(bytes, out);
    }
    FakePackage package;
    Server server;
    Bytes out;
};

TsRequest client_request(std::string_view token, uint32_t version = kVersion) {
    TsRequest r;
    r.version = version;
    if (!token.empty()) r.nego_tokens.push_back(bytes_of(token));
    return r;
}
TsRequest with_pub_key_auth(TsRequest r, uint32_t version, ByteView key = kKey) {
    r.pub_key_auth = sealed(client_binding(version, key, kNonce).value());
    r.client_nonce = Bytes(kNonce.begin(), kNonce.end());
    return r;
}

TEST(CredsspServer, InterceptedClientIsABindingMismatch) {
    Pair run(kNtlm, false, kOtherKey);  // the client saw another certificate
    run.go();
    const Failure failure = failure_of(run.server_result);
    EXPECT_EQ(failure.cause, Cause::client_nla_binding_mismatch);
    EXPECT_NE(failure.detail.find("credssp.ts_request.pub_key_auth"), std::string::npos);
    EXPECT_EQ(error_code_in(run.server_sent.back()), kStatusLogonFailure);
    // The client heard the refusal before it delegated anything.
    EXPECT_EQ(failure_of(run.client_result).cause, Cause::host_nla_logon_failure);
    EXPECT_NE(failure_of(run.client_result).detail.find("STATUS_LOGON_FAILURE"), std::string::npos);
    EXPECT_EQ(run.client_package.sealed_plaintexts.size(), 1u);  // pubKeyAuth only
}

TEST(CredsspServer, WrongPasswordIsRefusedWithErrorCode) {
    Pair run(kNtlm, true);
    run.server_package.refuse_on = "AUTHENTICATE";
    run.go();
    const Failure failure = failure_of(run.server_result);
    EXPECT_EQ(failure.cause, Cause::client_nla_failed);
    EXPECT_NE(failure.detail.find("wrong password"), std::string::npos);
    // errorCode, not `denied`: the run did not complete.
    EXPECT_EQ(error_code_in(run.server_sent.back()), kStatusLogonFailure);
    EXPECT_EQ(failure_of(run.client_result).cause, Cause::host_nla_logon_failure);
}

TEST(CredsspServer, NoErrorCodeBeforeVersion3) {
    for (uint32_t version : {2u, 3u}) {
        ServerFeed s(kNtlm.acceptor);
        s.package.refuse_on = "NEGOTIATE";
        EXPECT_EQ(failure_of(s.feed(encoded(client_request("NEGOTIATE", version)))).cause,
                  Cause::client_nla_failed);
        EXPECT_EQ(s.out.empty(), version < 3) << version;
    }
}

TEST(CredsspServer, AuthInfoBeforePubKeyAuthIsRefused) {
    ServerFeed s(kNtlm.acceptor);
    ASSERT_TRUE(std::holds_alternative<InProgress>(s.feed(encoded(client_request("NEGOTIATE")))));
    TsRequest early = client_request("AUTHENTICATE");
    early.auth_info = sealed("credentials too early");
    const Failure failure = failure_of(s.feed(encoded(early)));
    EXPECT_EQ(failure.cause, Cause::client_nla_malformed);
    EXPECT_EQ(failure.detail.rfind("credssp.ts_request.auth_info: sent before", 0), 0u)
        << failure.detail;
    EXPECT_EQ(error_code_in(s.out), kStatusLogonFailure);
    EXPECT_EQ(s.package.steps(), 1u);  // the token was not even looked at
}

TEST(CredsspServer, OutOfOrderFieldsNameTheirStep) {
    struct Wrong {
        std::vector<TsRequest> requests;
        std::string detail_start;
    };
    TsRequest authenticate_without_binding = client_request("AUTHENTICATE");
    TsRequest binding_too_early = with_pub_key_auth(client_request("NEGOTIATE"), kVersion);
    TsRequest no_nonce = with_pub_key_auth(client_request("AUTHENTICATE"), kVersion);
    no_nonce.client_nonce.reset();
    TsRequest two_tokens = client_request("NEGOTIATE");
    two_tokens.nego_tokens.push_back(bytes_of("NEGOTIATE"));
    TsRequest other_nonce = with_pub_key_auth(client_request("AUTHENTICATE"), kVersion);
    other_nonce.client_nonce->at(0) ^= 1;
    TsRequest first_with_nonce = client_request("NEGOTIATE");
    first_with_nonce.client_nonce = Bytes(kNonce.begin(), kNonce.end());
    TsRequest client_error = client_request("NEGOTIATE");
    client_error.error_code = 0x8009030C;

    const std::vector<Wrong> cases = {
        {{client_request("")}, "credssp.ts_request.nego_tokens: missing"},
        {{two_tokens}, "credssp.ts_request.nego_tokens: 2 tokens"},
        {{binding_too_early}, "credssp.ts_request.pub_key_auth: sent before"},
        {{client_request("NEGOTIATE"), authenticate_without_binding, client_request("")},
         "credssp.ts_request.pub_key_auth: missing"},
        {{client_request("NEGOTIATE"), authenticate_without_binding,
          client_request("AUTHENTICATE")},
         "credssp.ts_request.nego_tokens: sent after"},
        {{client_request("NEGOTIATE"), no_nonce}, "credssp.ts_request.client_nonce: missing"},
        {{first_with_nonce, other_nonce}, "credssp.ts_request.client_nonce: changed"},
        {{client_request("NEGOTIATE", 0)}, "credssp.ts_request.version"},
        {{client_error}, "credssp.ts_request.error_code: the client gave up: SEC_E_LOGON_DENIED"},
    };
    for (const Wrong& w : cases) {
        ServerFeed s(kNtlm.acceptor);
        ServerResult result;
        for (const TsRequest& r : w.requests) result = s.feed(encoded(r));
        const Failure failure = failure_of(result);
        EXPECT_TRUE(failure.cause == Cause::client_nla_malformed ||
                    failure.cause == Cause::client_nla_failed);
        EXPECT_EQ(failure.detail.rfind(w.detail_start, 0), 0u) << failure.detail;
    }
}

TEST(CredsspServer, AfterPubKeyAuthOnlyAuthInfo) {
    for (bool hybrid_ex : {false, true}) {
        ServerFeed s(kNtlm.acceptor, hybrid_ex);
        (void)s.feed(encoded(client_request("NEGOTIATE")));
        ASSERT_TRUE(std::holds_alternative<InProgress>(
            s.feed(encoded(with_pub_key_auth(client_request("AUTHENTICATE"), kVersion)))));
        const Failure failure = failure_of(s.feed(encoded(client_request("MORE"))));
        EXPECT_EQ(failure.cause, Cause::client_nla_malformed);
        EXPECT_EQ(failure.detail.rfind("credssp.ts_request: expected authInfo alone", 0), 0u);
        // The client no longer reads TSRequests: HYBRID_EX gets `denied`, HYBRID nothing.
        EXPECT_EQ(s.out, hybrid_ex ? encode(EarlyUserAuthResult::denied) : Bytes{});
    }
}

// Restricted Admin, Remote Credential Guard and smart cards delegate no password.
TEST(CredsspServer, NoPasswordDelegatedIsDenied) {
    for (const char* file :
         {"built_ts_credentials_restricted_admin.bin", "built_ts_credentials_remote_guard.bin",
          "built_ts_credentials_smart_card.bin"}) {
        for (bool hybrid_ex : {false, true}) {
            ServerFeed s(kNtlm.acceptor, hybrid_ex);
            (void)s.feed(encoded(client_request("NEGOTIATE")));
            (void)s.feed(encoded(with_pub_key_auth(client_request("AUTHENTICATE"), kVersion)));
            TsRequest credentials;
            credentials.auth_info = sealed(credssp_fixture(file));
            const Failure failure = failure_of(s.feed(encoded(credentials)));
            EXPECT_EQ(failure.cause, Cause::client_delegated_no_password) << file;
            EXPECT_EQ(failure.detail.rfind("credssp.ts_credentials: ", 0), 0u) << failure.detail;
            EXPECT_EQ(s.out, hybrid_ex ? encode(EarlyUserAuthResult::denied) : Bytes{}) << file;
        }
    }
}

TEST(CredsspServer, MalformedCredentialsNameTheirField) {
    ServerFeed s(kNtlm.acceptor);
    (void)s.feed(encoded(client_request("NEGOTIATE")));
    (void)s.feed(encoded(with_pub_key_auth(client_request("AUTHENTICATE"), kVersion)));
    TsRequest credentials;
    credentials.auth_info = sealed("not DER");
    const Failure failure = failure_of(s.feed(encoded(credentials)));
    EXPECT_EQ(failure.cause, Cause::client_nla_malformed);
    EXPECT_EQ(failure.detail.rfind("credssp.ts_credentials", 0), 0u) << failure.detail;

    ServerFeed unsealed(kNtlm.acceptor);
    (void)unsealed.feed(encoded(client_request("NEGOTIATE")));
    (void)unsealed.feed(encoded(with_pub_key_auth(client_request("AUTHENTICATE"), kVersion)));
    credentials.auth_info = bytes_of("tampered");
    EXPECT_EQ(failure_of(unsealed.feed(encoded(credentials))).cause, Cause::client_nla_failed);
}

TEST(CredsspServer, McsDataAfterAuthInfoIsHandedOn) {
    Pair run(kNtlm);
    Bytes to_server;
    ASSERT_FALSE(run.client.start(to_server));
    Bytes to_client;
    (void)run.server.receive(to_server, to_client);
    to_server.clear();
    (void)run.client.receive(to_client, to_server);
    to_client.clear();
    (void)run.server.receive(to_server, to_client);
    to_server.clear();
    (void)run.client.receive(to_client, to_server);
    // authInfo and the first bytes of an MCS Connect Initial in one read.
    const Bytes mcs = {0x03, 0x00, 0x01, 0xA0, 0x02, 0xF0, 0x80};
    to_server.insert(to_server.end(), mcs.begin(), mcs.end());
    to_client.clear();
    const ServerResult result = run.server.receive(to_server, to_client);
    EXPECT_EQ(as<Authenticated>(result).rest, mcs);
    EXPECT_EQ(failure_of(run.server.receive(mcs, to_client)).cause, Cause::internal_error);

    // Under HYBRID_EX the client must wait for the Early User Authorization Result.
    Pair ex(kNtlm, true);
    to_server.clear();
    ASSERT_FALSE(ex.client.start(to_server));
    for (int i = 0; i < 2; ++i) {
        to_client.clear();
        (void)ex.server.receive(to_server, to_client);
        to_server.clear();
        (void)ex.client.receive(to_client, to_server);
    }
    to_server.insert(to_server.end(), mcs.begin(), mcs.end());
    to_client.clear();
    EXPECT_EQ(failure_of(ex.server.receive(to_server, to_client)).cause,
              Cause::client_nla_malformed);
    EXPECT_EQ(to_client, encode(EarlyUserAuthResult::denied));
}

TEST(CredsspServer, OversizeAndGarbageAreRefusedFromTheFirstBytes) {
    // A header announcing 65,539 bytes: refused before the body arrives.
    ServerFeed big(kNtlm.acceptor);
    const Failure too_big = failure_of(big.feed(Bytes{0x30, 0x82, 0xFF, 0xFF}));
    EXPECT_EQ(too_big.cause, Cause::client_nla_malformed);
    EXPECT_EQ(too_big.detail.rfind("credssp.ts_request: announces", 0), 0u) << too_big.detail;
    EXPECT_TRUE(big.out.empty());  // no version known yet: no errorCode

    ServerFeed http(kNtlm.acceptor);
    EXPECT_EQ(failure_of(http.feed(bytes_of("GET / HTTP/1.1\r\n"))).cause,
              Cause::client_nla_malformed);
    EXPECT_TRUE(http.out.empty());

    // Later in the run the version is known, and the refusal carries errorCode.
    ServerFeed late(kNtlm.acceptor);
    (void)late.feed(encoded(client_request("NEGOTIATE")));
    EXPECT_EQ(failure_of(late.feed(Bytes{0x04, 0x00})).cause, Cause::client_nla_malformed);
    EXPECT_EQ(error_code_in(late.out), kStatusLogonFailure);
}

TEST(CredsspServer, TooManyRoundsEndTheRun) {
    std::vector<Move> endless;
    for (int i = 0; i < 20; ++i) endless.push_back({"AGAIN", "AGAIN", false});
    ServerFeed s(endless);
    ServerResult result;
    int sent = 0;
    while (std::holds_alternative<InProgress>(result) && sent < 20) {
        result = s.feed(encoded(client_request("AGAIN")));
        ++sent;
    }
    EXPECT_EQ(sent, int(kMaxTsRequests) + 1);
    const Failure failure = failure_of(result);
    EXPECT_EQ(failure.cause, Cause::client_nla_malformed);
    EXPECT_NE(failure.detail.find("more than 10 TSRequests"), std::string::npos);
}

TEST(CredsspServer, PeerClosedSaysHowFarTheRunGot) {
    ServerFeed s(kNtlm.acceptor);
    EXPECT_NE(s.server.peer_closed().detail.find("before its first TSRequest"), std::string::npos);
    (void)s.feed(encoded(client_request("NEGOTIATE")));
    EXPECT_NE(s.server.peer_closed().detail.find("negoTokens"), std::string::npos);
    (void)s.feed(encoded(with_pub_key_auth(client_request("AUTHENTICATE"), kVersion)));
    const Failure closed = s.server.peer_closed();
    EXPECT_EQ(closed.cause, Cause::client_closed);
    EXPECT_NE(closed.detail.find("after the gateway's pubKeyAuth"), std::string::npos);
}

// ----------------------------------------------------------------------------- Client failures

struct ClientFeed {
    explicit ClientFeed(std::vector<Move> script, bool hybrid_ex = false)
        : package(std::move(script)), client(package, kKey, credentials(), kNonce, hybrid_ex) {
        EXPECT_FALSE(client.start(out));
    }
    ClientResult feed(ByteView bytes) {
        out.clear();
        return client.receive(bytes, out);
    }
    // Through CHALLENGE: the Client then has sent AUTHENTICATE and pubKeyAuth.
    void to_pub_key_auth() {
        ASSERT_TRUE(std::holds_alternative<InProgress>(feed(encoded(client_request("CHALLENGE")))));
        ASSERT_TRUE(decoded(out).pub_key_auth);
    }
    FakePackage package;
    Client client;
    Bytes out;
};

TsRequest host_answer(ByteView binding) {
    TsRequest r;
    r.pub_key_auth = sealed(binding);
    return r;
}

TEST(CredsspClient, HostErrorCodeIsNamed) {
    ClientFeed c(kNtlm.initiator);
    c.to_pub_key_auth();
    // NlaServer's refusal of FreeRDP's AUTHENTICATE, as captured.
    const Failure& failure =
        failure_of(c.feed(credssp_fixture("xfreerdp_logon_failure_4_server.bin")));
    EXPECT_EQ(failure.cause, Cause::host_nla_logon_failure);
    EXPECT_EQ(failure.detail,
              "credssp.ts_request.error_code: the host refused the logon with "
              "STATUS_LOGON_FAILURE (0xc000006d)");
    EXPECT_TRUE(c.out.empty());
    EXPECT_EQ(c.package.sealed_plaintexts.size(), 1u);  // no credentials sealed
}

TEST(CredsspClient, WrongHostBindingSendsNoCredentials) {
    for (const Bytes& wrong : {server_binding(kVersion, kOtherKey, kNonce).value(),
                               client_binding(kVersion, kKey, kNonce).value(),  // a reflection
                               server_binding(4, kKey, kNonce).value()}) {      // another version
        ClientFeed c(kNtlm.initiator);
        c.to_pub_key_auth();
        const Failure failure = failure_of(c.feed(encoded(host_answer(wrong))));
        EXPECT_EQ(failure.cause, Cause::host_nla_binding_mismatch);
        EXPECT_NE(failure.detail.find("no credentials were sent"), std::string::npos);
        EXPECT_TRUE(c.out.empty());
        EXPECT_EQ(c.package.sealed_plaintexts.size(), 1u);
    }
}

TEST(CredsspClient, EarlyUserAuthorizationResult) {
    const Bytes good = encoded(host_answer(server_binding(kVersion, kKey, kNonce).value()));
    {
        ClientFeed c(kNtlm.initiator, true);
        c.to_pub_key_auth();
        ASSERT_TRUE(std::holds_alternative<InProgress>(c.feed(good)));
        EXPECT_TRUE(decoded(c.out).auth_info);
        const Bytes denied = encode(EarlyUserAuthResult::denied);
        EXPECT_TRUE(std::holds_alternative<InProgress>(c.feed(ByteView(denied).first(3))));
        EXPECT_EQ(failure_of(c.feed(ByteView(denied).subspan(3))).cause,
                  Cause::host_nla_access_denied);
    }
    {
        // pubKeyAuth, `granted` and one byte too many, in one read.
        ClientFeed c(kNtlm.initiator, true);
        c.to_pub_key_auth();
        Bytes in = good;
        Writer(in).bytes(encode(EarlyUserAuthResult::granted));
        in.push_back(0x03);
        const Failure failure = failure_of(c.feed(in));
        EXPECT_EQ(failure.cause, Cause::host_nla_malformed);
        EXPECT_EQ(failure.detail.rfind("credssp.early_user_authorization_result: 1 byte(s)", 0),
                  0u);
    }
    {
        ClientFeed c(kNtlm.initiator, true);
        c.to_pub_key_auth();
        Bytes in = good;
        Writer(in).bytes(Bytes{7, 0, 0, 0});
        EXPECT_EQ(failure_of(c.feed(in)).cause, Cause::host_nla_malformed);
    }
    {
        // HYBRID: nothing may follow the host's pubKeyAuth.
        ClientFeed c(kNtlm.initiator, false);
        c.to_pub_key_auth();
        Bytes in = good;
        in.push_back(0);
        const Failure failure = failure_of(c.feed(in));
        EXPECT_EQ(failure.cause, Cause::host_nla_malformed);
        EXPECT_EQ(failure.detail.rfind("credssp.ts_request: 1 byte(s) after", 0), 0u);
    }
}

TEST(CredsspClient, HostMessagesOutOfOrder) {
    TsRequest early_binding = client_request("CHALLENGE");
    early_binding.pub_key_auth = sealed("early");
    TsRequest auth_info = client_request("CHALLENGE");
    auth_info.auth_info = sealed("from the host?");
    const std::vector<std::pair<TsRequest, std::string>> cases = {
        {client_request(""), "credssp.ts_request.nego_tokens: missing"},
        {early_binding, "credssp.ts_request.pub_key_auth: sent before the gateway's"},
        {auth_info, "credssp.ts_request.auth_info: sent by the host"},
        {client_request("CHALLENGE", 0), "credssp.ts_request.version"},
    };
    for (const auto& [request, detail] : cases) {
        ClientFeed c(kNtlm.initiator);
        const Failure failure = failure_of(c.feed(encoded(request)));
        EXPECT_EQ(failure.cause, Cause::host_nla_malformed);
        EXPECT_EQ(failure.detail.rfind(detail, 0), 0u) << failure.detail;
    }
    ClientFeed c(kNtlm.initiator);
    c.to_pub_key_auth();
    const Failure failure = failure_of(c.feed(encoded(client_request("MORE"))));
    EXPECT_EQ(failure.cause, Cause::host_nla_malformed);
    EXPECT_EQ(failure.detail.rfind("credssp.ts_request.pub_key_auth: missing", 0), 0u);

    ClientFeed refused(kNtlm.initiator);
    refused.package.refuse_on = "CHALLENGE";
    EXPECT_EQ(failure_of(refused.feed(encoded(client_request("CHALLENGE")))).cause,
              Cause::host_nla_failed);
}

TEST(CredsspClient, BoundsAndGarbage) {
    ClientFeed big(kNtlm.initiator);
    EXPECT_EQ(failure_of(big.feed(Bytes{0x30, 0x82, 0xFF, 0xFF})).cause, Cause::host_nla_malformed);

    ClientFeed garbage(kNtlm.initiator);
    EXPECT_EQ(failure_of(garbage.feed(bytes_of("\x03\x00\x00\x13"))).cause,
              Cause::host_nla_malformed);

    std::vector<Move> endless = {{"", "AGAIN", false}};
    for (int i = 0; i < 20; ++i) endless.push_back({"AGAIN", "AGAIN", false});
    ClientFeed loop(endless);
    ClientResult result;
    int sent = 0;
    while (std::holds_alternative<InProgress>(result) && sent < 20) {
        result = loop.feed(encoded(client_request("AGAIN")));
        ++sent;
    }
    EXPECT_EQ(sent, int(kMaxTsRequests) + 1);
    EXPECT_EQ(failure_of(result).cause, Cause::host_nla_malformed);
}

TEST(CredsspClient, HostClosingAfterTheCredentialsIsALogonFailure) {
    ClientFeed c(kNtlm.initiator);
    EXPECT_EQ(c.client.peer_closed().cause, Cause::host_closed);
    c.to_pub_key_auth();
    EXPECT_EQ(c.client.peer_closed().cause, Cause::host_nla_logon_failure);
}

TEST(CredsspClient, StartTwiceOrReceiveBeforeStart) {
    FakePackage package(kNtlm.initiator);
    Client client(package, kKey, credentials(), kNonce, false);
    Bytes out;
    EXPECT_EQ(failure_of(client.receive(Bytes{0x30}, out)).cause, Cause::internal_error);
    EXPECT_FALSE(client.start(out));
    EXPECT_EQ(client.start(out)->cause, Cause::internal_error);

    FakePackage refusing({});
    Client never(refusing, kKey, credentials(), kNonce, false);
    EXPECT_EQ(never.start(out)->cause, Cause::host_nla_failed);
}

// ----------------------------------------------------------------------------- captured runs

Bytes public_key_of(const std::string& certificate) {
    auto key = crypto::x509_subject_public_key(credssp_fixture(certificate));
    EXPECT_TRUE(key) << certificate;
    return key ? *key : Bytes{};
}

// An acceptor that takes FreeRDP's NTLM messages by their type and unseals what FreeRDP sealed
// with the plaintexts the capture recorded.
FakePackage freerdp_acceptor(const std::string& run, bool has_credentials) {
    FakePackage package({{"NEGOTIATE", "CHALLENGE", false}, {"AUTHENTICATE", "", true}});
    package.ntlm_by_type = true;
    const TsRequest third = decoded(credssp_fixture(run + "_3_client.bin"));
    package.unseal_table.emplace_back(*third.pub_key_auth,
                                      credssp_fixture(run + "_3_pubkeyauth_plaintext.bin"));
    if (has_credentials) {
        const TsRequest fifth = decoded(credssp_fixture(run + "_5_client.bin"));
        package.unseal_table.emplace_back(*fifth.auth_info,
                                          credssp_fixture(run + "_5_ts_credentials.bin"));
    }
    return package;
}

TEST(CredsspCaptured, FreeRdpClientAuthenticatesAtVersion6) {
    FakePackage package = freerdp_acceptor("xfreerdp_v6", true);
    Server server(package, public_key_of("nlaserver_cert.der"), false);
    Bytes out;

    // FreeRDP announces 6: the answer is version 6, the package's token and nothing else, the
    // shape of what FreeRDP accepted from NlaServer.
    ASSERT_TRUE(std::holds_alternative<InProgress>(
        server.receive(credssp_fixture("xfreerdp_v6_1_client.bin"), out)));
    EXPECT_EQ(package.steps(), 1u);
    const TsRequest challenge = decoded(out);
    const TsRequest captured = decoded(credssp_fixture("xfreerdp_v6_2_server.bin"));
    EXPECT_EQ(challenge.version, captured.version);
    ASSERT_EQ(challenge.nego_tokens.size(), 1u);
    EXPECT_EQ(text_of(challenge.nego_tokens[0]), "CHALLENGE");
    EXPECT_FALSE(challenge.client_nonce || challenge.pub_key_auth || challenge.auth_info ||
                 challenge.error_code);

    // AUTHENTICATE with pubKeyAuth: FreeRDP's real binding verifies against the certificate
    // and the nonce it repeated; the answer is the server-to-client hash.
    out.clear();
    ASSERT_TRUE(std::holds_alternative<InProgress>(
        server.receive(credssp_fixture("xfreerdp_v6_3_client.bin"), out)));
    const TsRequest answer = decoded(out);
    EXPECT_EQ(answer.version, 6u);
    EXPECT_TRUE(answer.pub_key_auth && answer.nego_tokens.empty() && !answer.client_nonce);
    const TsRequest third = decoded(credssp_fixture("xfreerdp_v6_3_client.bin"));
    ASSERT_EQ(package.sealed_plaintexts.size(), 1u);
    EXPECT_EQ(package.sealed_plaintexts[0],
              server_binding(6, public_key_of("nlaserver_cert.der"), *third.client_nonce).value());

    // Message 5, cut byte by byte.
    out.clear();
    const Bytes fifth = credssp_fixture("xfreerdp_v6_5_client.bin");
    ServerResult result;
    for (uint8_t b : fifth) result = server.receive(ByteView(&b, 1), out);
    const auto& authenticated = as<Authenticated>(result);
    EXPECT_EQ(authenticated.version, 6u);
    EXPECT_EQ(authenticated.credentials.domain, "LAB");
    EXPECT_EQ(authenticated.credentials.user, "labuser");
    EXPECT_EQ(password_text(authenticated.credentials.password), "labpass-Secret1");
    EXPECT_TRUE(out.empty());
}

// In the version 3 run NlaServer answered 3 and FreeRDP bound with the bare public key. Our
// Server answers min(6, FreeRDP's 6) = 6, so that binding is not the one it expects.
TEST(CredsspCaptured, AVersion3BindingIsRefusedAtVersion6) {
    FakePackage package = freerdp_acceptor("xfreerdp_v3", false);
    Server server(package, public_key_of("nlaserver_cert.der"), false);
    Bytes out;
    (void)server.receive(credssp_fixture("xfreerdp_v3_1_client.bin"), out);
    EXPECT_EQ(decoded(out).version, 6u);
    out.clear();
    EXPECT_EQ(failure_of(server.receive(credssp_fixture("xfreerdp_v3_3_client.bin"), out)).cause,
              Cause::client_nla_binding_mismatch);
}

// The refusal is byte for byte what NlaServer sent and FreeRDP reported as
// ERRCONNECT_LOGON_FAILURE.
TEST(CredsspCaptured, LogonFailureAnswerIsWhatFreeRdpUnderstood) {
    FakePackage package({{"NEGOTIATE", "CHALLENGE", false}});
    package.ntlm_by_type = true;
    Server server(package, public_key_of("nlaserver_cert.der"), false);
    Bytes out;
    (void)server.receive(credssp_fixture("xfreerdp_logon_failure_1_client.bin"), out);
    out.clear();
    EXPECT_EQ(
        failure_of(server.receive(credssp_fixture("xfreerdp_logon_failure_3_client.bin"), out))
            .cause,
        Cause::client_nla_failed);
    EXPECT_EQ(out, credssp_fixture("xfreerdp_logon_failure_4_server.bin"));
}

// freerdp-shadow-cli's own messages into the Client: its extra clientNonce in the CHALLENGE
// and the echo of ours are accepted, and its real binding verifies against its certificate.
TEST(CredsspCaptured, FreeRdpServerAcceptsTheClient) {
    const TsRequest third = decoded(credssp_fixture("shadow_v6_3_client.bin"));
    std::array<uint8_t, kNonceSize> nonce{};
    ASSERT_TRUE(third.client_nonce);
    std::copy(third.client_nonce->begin(), third.client_nonce->end(), nonce.begin());

    FakePackage package({{"", "NEGOTIATE", false}, {"CHALLENGE", "AUTHENTICATE", true}});
    package.ntlm_by_type = true;
    const TsRequest fourth = decoded(credssp_fixture("shadow_v6_4_server.bin"));
    package.unseal_table.emplace_back(*fourth.pub_key_auth,
                                      credssp_fixture("shadow_v6_4_pubkeyauth_plaintext.bin"));
    Client client(package, public_key_of("shadow_cert.der"), credentials(), nonce, false);

    Bytes out;
    ASSERT_FALSE(client.start(out));
    out.clear();
    ASSERT_TRUE(std::holds_alternative<InProgress>(
        client.receive(credssp_fixture("shadow_v6_2_server.bin"), out)));
    const TsRequest sent = decoded(out);
    EXPECT_TRUE(sent.pub_key_auth);
    EXPECT_EQ(sent.client_nonce, third.client_nonce);
    out.clear();
    const ClientResult result = client.receive(credssp_fixture("shadow_v6_4_server.bin"), out);
    EXPECT_EQ(as<Delegated>(result).version, 6u);
    EXPECT_TRUE(decoded(out).auth_info);

    // With a wrong password freerdp-shadow-cli closes after message 3, without errorCode.
    FakePackage again({{"", "NEGOTIATE", false}, {"CHALLENGE", "AUTHENTICATE", true}});
    again.ntlm_by_type = true;
    Client refused(again, public_key_of("shadow_cert.der"), credentials(), nonce, false);
    out.clear();
    ASSERT_FALSE(refused.start(out));
    (void)refused.receive(credssp_fixture("shadow_logon_failure_2_server.bin"), out);
    EXPECT_EQ(refused.peer_closed().cause, Cause::host_nla_logon_failure);
}

}  // namespace
