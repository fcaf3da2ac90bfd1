// The GSSAPI layer of NLA: an Initiator and an Acceptor talk to each other in-process through the
// real MIT GSSAPI and gss-ntlmssp, with a private users file (no NTLM_USER_FILE, no network, no
// KDC). Both framings a client may use are covered: raw NTLMSSP (FreeRDP 2) and SPNEGO (Windows,
// FreeRDP 3). Without gss-ntlmssp every test fails and names the package.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <type_traits>

#include "proxy/nla/gss.hpp"
#include "rdp/gss_token.hpp"
#include "rdp/ntlmssp.hpp"

using namespace rdpbridge::nla;
namespace fs = std::filesystem;

namespace {

// Users as gss-ntlmssp reads them: DOMAIN:USER:PASSWORD.
constexpr const char* kUsers =
    "# test users\n"
    "CORP:alice:Correct-Horse-1\n"
    "OTHER:bob:Battery-Staple-2\n"
    ":carol:No-Domain-3\n";

class NlaGss : public ::testing::Test {
  protected:
    void SetUp() override {
        auto available = check_ntlm_available();
        ASSERT_TRUE(available.ok()) << available.error().message();
        ::unsetenv("NTLM_USER_FILE");  // credentials come from the cred store, not the environment

        std::string pattern = (fs::temp_directory_path() / "rdpbridge-nla-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        users_ = dir_ / "users";
        std::ofstream(users_) << kUsers;
        fs::permissions(users_, fs::perms::owner_read | fs::perms::owner_write);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    Acceptor acceptor(AcceptFraming framing = AcceptFraming::detect) {
        auto a = Acceptor::create({framing, "TERMSRV@gateway.test", users_.string(), ""});
        EXPECT_TRUE(a.ok()) << a.error().message();
        return std::move(a).value();
    }

    static Initiator initiator(Framing framing, std::string user, std::string domain,
                               std::string_view password) {
        auto i = Initiator::create({framing, std::move(user), std::move(domain), Password(password),
                                    "TERMSRV@gateway.test"});
        EXPECT_TRUE(i.ok()) << i.error().message();
        return std::move(i).value();
    }

    // Runs the exchange to its end or to the first failure. Returns the failure, if any.
    static std::optional<GssError> handshake(Initiator& client, Acceptor& server) {
        Bytes to_server;
        auto first = client.step({});
        if (!first) return first.error();
        to_server = first->token;
        for (int round = 0; round < 5; ++round) {
            auto s = server.step(to_server);
            if (!s) return s.error();
            if (s->token.empty()) break;  // raw NTLM: the acceptor's last step sends nothing
            auto c = client.step(s->token);
            if (!c) return c.error();
            if (c->done && server.established()) break;
            to_server = c->token;
        }
        return std::nullopt;
    }

    fs::path dir_;
    fs::path users_;
};

Bytes bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

class BothFramings : public NlaGss, public ::testing::WithParamInterface<Framing> {};

INSTANTIATE_TEST_SUITE_P(Nla, BothFramings, ::testing::Values(Framing::raw_ntlm, Framing::spnego),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_P(BothFramings, AuthenticatesAndReportsTheClient) {
    Acceptor server = acceptor();  // detect: the same acceptor takes raw NTLMSSP and SPNEGO
    Initiator client = initiator(GetParam(), "alice", "CORP", "Correct-Horse-1");

    auto failure = handshake(client, server);
    ASSERT_FALSE(failure) << failure->message();
    EXPECT_TRUE(client.established());
    EXPECT_TRUE(server.established());
    EXPECT_EQ(server.framing(), GetParam());
    EXPECT_EQ(server.mechanism(), Mechanism::ntlm);
    EXPECT_EQ(server.client().user, "alice");
    EXPECT_EQ(server.client().domain, "CORP");
}

TEST_P(BothFramings, WrongPasswordIsBadCredentials) {
    Acceptor server = acceptor();
    Initiator client = initiator(GetParam(), "alice", "CORP", "Wrong-Horse-1");

    auto failure = handshake(client, server);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->failure, Failure::bad_credentials) << failure->message();
    EXPECT_EQ(failure->operation, "gss_accept_sec_context");
    EXPECT_FALSE(failure->minor_text.empty());  // the mechanism's own words
    EXPECT_FALSE(server.established());
    EXPECT_EQ(failure->message().find("Wrong-Horse"), std::string::npos);
}

TEST_P(BothFramings, UnknownUser) {
    Acceptor server = acceptor();
    Initiator client = initiator(GetParam(), "mallory", "CORP", "Correct-Horse-1");

    auto failure = handshake(client, server);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->failure, Failure::unknown_user) << failure->message();
}

TEST_P(BothFramings, WrapAndUnwrapBothWays) {
    Acceptor server = acceptor();
    Initiator client = initiator(GetParam(), "alice", "CORP", "Correct-Horse-1");
    ASSERT_FALSE(handshake(client, server));

    // Several messages each way, in CredSSP's order: pubKeyAuth, its answer, TSCredentials.
    for (std::string_view text : {"client public key", "client credentials"}) {
        auto sealed = client.wrap(bytes(text));
        ASSERT_TRUE(sealed.ok()) << sealed.error().message();
        EXPECT_EQ(std::string(sealed->begin(), sealed->end()).find(text), std::string::npos);
        auto opened = server.unwrap(*sealed);
        ASSERT_TRUE(opened.ok()) << opened.error().message();
        EXPECT_EQ(*opened, bytes(text));

        auto answer = server.wrap(bytes("server answer"));
        ASSERT_TRUE(answer.ok()) << answer.error().message();
        auto read = client.unwrap(*answer);
        ASSERT_TRUE(read.ok()) << read.error().message();
        EXPECT_EQ(*read, bytes("server answer"));
    }
}

TEST_P(BothFramings, TamperedMessageDoesNotUnwrap) {
    Acceptor server = acceptor();
    Initiator client = initiator(GetParam(), "alice", "CORP", "Correct-Horse-1");
    ASSERT_FALSE(handshake(client, server));

    auto sealed = client.wrap(bytes("client public key"));
    ASSERT_TRUE(sealed.ok());
    Bytes tampered = *sealed;
    tampered.back() ^= 0x01;
    auto opened = server.unwrap(tampered);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().failure, Failure::malformed_token) << opened.error().message();
    EXPECT_NE(opened.error().major, 0u);
}

TEST_P(BothFramings, ClientWithoutDomainMatchesTheUserInAnyDomain) {
    // bob is listed under OTHER; a client that sends no domain still authenticates (gss-ntlmssp:
    // a domain-less name matches any domain's line, and the NTLMv2 check is retried without the
    // domain). The reported domain is the client's: empty.
    Acceptor server = acceptor();
    Initiator client = initiator(GetParam(), "bob", "", "Battery-Staple-2");

    auto failure = handshake(client, server);
    ASSERT_FALSE(failure) << failure->message();
    EXPECT_EQ(server.client().user, "bob");
    EXPECT_EQ(server.client().domain, "");
}

TEST_F(NlaGss, UsersFileLineWithoutDomainMatchesOnlyClientsWithoutDomain) {
    {
        Acceptor server = acceptor();
        Initiator client = initiator(Framing::raw_ntlm, "carol", "", "No-Domain-3");
        auto failure = handshake(client, server);
        ASSERT_FALSE(failure) << failure->message();
        EXPECT_EQ(server.client().user, "carol");
    }
    {
        Acceptor server = acceptor();
        Initiator client = initiator(Framing::raw_ntlm, "carol", "CORP", "No-Domain-3");
        auto failure = handshake(client, server);
        ASSERT_TRUE(failure);
        EXPECT_EQ(failure->failure, Failure::unknown_user) << failure->message();
    }
}

TEST_F(NlaGss, DomainMustBeSpelledAsInTheUsersFile) {
    // gss-ntlmssp computes the NTLMv2 key with the users file's domain, not the client's, so a
    // client typing "corp" for CORP fails as if the password were wrong. (User names are not
    // affected: NTLMv2 upper-cases them.)
    Acceptor server = acceptor();
    Initiator client = initiator(Framing::raw_ntlm, "ALICE", "corp", "Correct-Horse-1");
    auto failure = handshake(client, server);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->failure, Failure::bad_credentials) << failure->message();
}

TEST_F(NlaGss, UserNameCaseDoesNotMatter) {
    Acceptor server = acceptor();
    Initiator client = initiator(Framing::raw_ntlm, "ALICE", "CORP", "Correct-Horse-1");
    auto failure = handshake(client, server);
    ASSERT_FALSE(failure) << failure->message();
    EXPECT_EQ(server.client().user, "ALICE");  // as the client sent it
}

TEST_F(NlaGss, GarbageFirstTokenIsMalformed) {
    for (std::string_view garbage :
         {std::string_view("garbage!garbage!"), std::string_view("\x60\x05\x06\x03\x2a", 5),
          std::string_view("\x60", 1), std::string_view("\x60\x84\xff\xff", 4),
          std::string_view("NTLMSSP\0\x07\0\0\0garbage", 19), std::string_view("NTLMSSP\0", 8)}) {
        Acceptor server = acceptor();
        auto step = server.step(bytes(garbage));
        ASSERT_FALSE(step.ok()) << rdpbridge::rdp::hex(bytes(garbage));
        EXPECT_EQ(step.error().failure, Failure::malformed_token) << step.error().message();
        // The context is dead: it does not take a second token either.
        EXPECT_FALSE(server.step(bytes("NTLMSSP\0")).ok());
    }
    Acceptor server = acceptor();
    auto empty = server.step({});
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().failure, Failure::malformed_token);
}

// rdp/'s reading of a first token against what gss-ntlmssp and MIT's SPNEGO actually send.
TEST_F(NlaGss, InitiatorFirstTokensAreClassifiedAsTheirFraming) {
    namespace gss = rdpbridge::rdp::gss;
    Initiator raw = initiator(Framing::raw_ntlm, "alice", "CORP", "Correct-Horse-1");
    auto negotiate = raw.step({});
    ASSERT_TRUE(negotiate.ok()) << negotiate.error().message();
    auto raw_first = gss::classify_first_token(negotiate->token);
    ASSERT_TRUE(raw_first) << raw_first.error().message();
    EXPECT_EQ(raw_first->framing, gss::Framing::raw_ntlmssp);
    auto type = rdpbridge::rdp::ntlmssp::read_message_type(negotiate->token);
    ASSERT_TRUE(type) << type.error().message();
    EXPECT_EQ(*type, rdpbridge::rdp::ntlmssp::MessageType::negotiate);

    Initiator spnego = initiator(Framing::spnego, "alice", "CORP", "Correct-Horse-1");
    auto init = spnego.step({});
    ASSERT_TRUE(init.ok()) << init.error().message();
    auto spnego_first = gss::classify_first_token(init->token);
    ASSERT_TRUE(spnego_first) << spnego_first.error().message();
    EXPECT_EQ(spnego_first->framing, gss::Framing::initial_context_token);
    EXPECT_EQ(spnego_first->mechanism, gss::Mechanism::spnego);
}

TEST_F(NlaGss, FixedFramingRejectsTheOtherOne) {
    {
        Acceptor server = acceptor(AcceptFraming::spnego);
        Initiator client = initiator(Framing::raw_ntlm, "alice", "CORP", "Correct-Horse-1");
        auto failure = handshake(client, server);
        ASSERT_TRUE(failure);
        EXPECT_EQ(failure->failure, Failure::malformed_token) << failure->message();
    }
    {
        Acceptor server = acceptor(AcceptFraming::raw_ntlm);
        Initiator client = initiator(Framing::spnego, "alice", "CORP", "Correct-Horse-1");
        auto failure = handshake(client, server);
        ASSERT_TRUE(failure);
        EXPECT_EQ(failure->failure, Failure::malformed_token) << failure->message();
    }
    {
        Acceptor server = acceptor(AcceptFraming::spnego);
        Initiator client = initiator(Framing::spnego, "alice", "CORP", "Correct-Horse-1");
        auto failure = handshake(client, server);
        ASSERT_FALSE(failure) << failure->message();
    }
}

TEST_F(NlaGss, InitiatorChecksTheTargetNameTheAcceptorAnnounces) {
    // A gss-ntlmssp acceptor puts its SPN (MsvAvTargetName) in the CHALLENGE and a gss-ntlmssp
    // initiator refuses a name other than its target. (Windows hosts send no MsvAvTargetName.)
    Acceptor server = acceptor();
    auto client = Initiator::create(
        {Framing::raw_ntlm, "alice", "CORP", Password("Correct-Horse-1"), "TERMSRV@elsewhere"});
    ASSERT_TRUE(client.ok()) << client.error().message();
    auto failure = handshake(*client, server);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->operation, "gss_init_sec_context");
    EXPECT_EQ(failure->failure, Failure::other) << failure->message();
}

TEST_F(NlaGss, NothingToWrapBeforeTheContextIsEstablished) {
    Acceptor server = acceptor();
    EXPECT_FALSE(server.wrap(bytes("x")).ok());
    EXPECT_FALSE(server.unwrap(bytes("x")).ok());
    Initiator client = initiator(Framing::raw_ntlm, "alice", "CORP", "Correct-Horse-1");
    EXPECT_FALSE(client.wrap(bytes("x")).ok());
}

TEST_F(NlaGss, MissingUsersFileIsReportedAtCreation) {
    auto a = Acceptor::create({AcceptFraming::detect, "TERMSRV", (dir_ / "absent").string(), ""});
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().failure, Failure::other);
    EXPECT_NE(a.error().message().find("absent"), std::string::npos) << a.error().message();
}

TEST_F(NlaGss, InitiatorRejectsUnusableNames) {
    EXPECT_FALSE(Initiator::create({Framing::raw_ntlm, "", "CORP", Password("p"), "TERMSRV@h"}));
    EXPECT_FALSE(Initiator::create({Framing::raw_ntlm, "a\\b", "", Password("p"), "TERMSRV@h"}));
    EXPECT_FALSE(Initiator::create(
        {Framing::raw_ntlm, "alice", "CORP", Password(std::string_view("a\0b", 3)), "T@h"}));
}

// ------------------------------------------------------------------------------ Password

template <class T>
concept Streamable = requires(std::ostream& os, const T& t) {
    os << t;
};

TEST(NlaAccount, DelegatedCredentialsMustBeTheAuthenticatedAccount) {
    const PeerName alice{"alice", "CORP"};
    EXPECT_TRUE(is_same_account(alice, "alice", "CORP"));
    EXPECT_TRUE(is_same_account(alice, "ALICE", "corp"));  // Windows names ignore case
    EXPECT_TRUE(is_same_account(alice, "alice", ""));      // no domain: any
    EXPECT_TRUE(is_same_account({"alice", ""}, "alice", "OTHER"));
    EXPECT_FALSE(is_same_account(alice, "bob", "CORP"));
    EXPECT_FALSE(is_same_account(alice, "alice", "OTHER"));
    EXPECT_FALSE(is_same_account(alice, "alic", "CORP"));
}

TEST(NlaPassword, CannotBeCopiedOrStreamed) {
    static_assert(!std::is_copy_constructible_v<Password>);
    static_assert(!std::is_copy_assignable_v<Password>);
    static_assert(!Streamable<Password>);
    static_assert(std::is_nothrow_move_constructible_v<Password>);
}

TEST(NlaPassword, MovesLeaveNothingBehind) {
    Password a("s3cret");
    EXPECT_EQ(a.reveal(), "s3cret");
    EXPECT_EQ(std::string(a.reveal_c_str()), "s3cret");
    Password b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_EQ(a.reveal(), "");
    EXPECT_EQ(b.reveal(), "s3cret");
    Password c;
    c = std::move(b);
    EXPECT_EQ(c.size(), 6u);
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
