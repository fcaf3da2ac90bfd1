// CredSSP end to end in one process: the front's Server (rdp/credssp_server) and the back's
// Client (rdp/credssp_client) run over real GSSAPI contexts from proxy/nla (MIT GSSAPI with
// gss-ntlmssp, a private users file, no network). This is the seam between the pure state
// machines and the library: what the unit tests of either side cannot show with a fake package.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <variant>

#include "proxy/nla/gss.hpp"
#include "proxy/nla/package.hpp"
#include "rdp/credssp_client.hpp"
#include "rdp/credssp_server.hpp"

using namespace rdpbridge;
using rdp::Bytes;
namespace credssp = rdp::credssp;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPassword = "Correct-Horse-1";

class NlaCredssp : public ::testing::Test {
  protected:
    void SetUp() override {
        auto available = nla::check_ntlm_available();
        ASSERT_TRUE(available.ok()) << available.error().message();
        ::unsetenv("NTLM_USER_FILE");
        std::string pattern = (fs::temp_directory_path() / "rdpbridge-credssp-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        std::ofstream(dir_ / "users") << "CORP:alice:" << kPassword << "\n";
        fs::permissions(dir_ / "users", fs::perms::owner_read | fs::perms::owner_write);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    struct Outcome {
        std::variant<credssp::InProgress, credssp::Authenticated, rdp::Failure> server;
        std::variant<credssp::InProgress, credssp::Delegated, rdp::Failure> client;
    };

    // Both sides over the real packages until one of them ends; bytes cross in whole writes, as
    // TLS would deliver them.
    Outcome run(std::string_view password, bool hybrid_ex) {
        auto acceptor = nla::Acceptor::create(
            {nla::AcceptFraming::detect, "TERMSRV@gateway.test", (dir_ / "users").string(), ""});
        EXPECT_TRUE(acceptor.ok()) << acceptor.error().message();
        auto initiator = nla::Initiator::create({nla::Framing::raw_ntlm, "alice", "CORP",
                                                 nla::Password(password), "TERMSRV@gateway.test"});
        EXPECT_TRUE(initiator.ok()) << initiator.error().message();
        nla::GssPackage server_package(*acceptor);
        nla::GssPackage client_package(*initiator);

        const Bytes public_key(270, 0x42);  // what both sides saw in TLS; its content is opaque
        std::array<uint8_t, credssp::kNonceSize> nonce{};
        nonce.fill(7);
        credssp::Server server(server_package, public_key, hybrid_ex);
        credssp::Client client(client_package, public_key,
                               {"CORP", "alice", credssp::password_from_utf8(password).value()},
                               nonce, hybrid_ex);
        Outcome outcome;
        Bytes to_server, to_client;
        if (auto failed = client.start(to_server)) {
            outcome.client = *failed;
            return outcome;
        }
        const auto running = [](const auto& result) {
            return std::holds_alternative<credssp::InProgress>(result);
        };
        // Each side reads what the other sent, until nothing is in flight.
        for (int round = 0; round < 12 && !(to_server.empty() && to_client.empty()); ++round) {
            if (!to_server.empty() && running(outcome.server))
                outcome.server = server.receive(to_server, to_client);
            to_server.clear();
            if (!to_client.empty() && running(outcome.client))
                outcome.client = client.receive(to_client, to_server);
            to_client.clear();
        }
        return outcome;
    }

    fs::path dir_;
};

TEST_F(NlaCredssp, DelegatesThePasswordOverRealNtlm) {
    for (bool hybrid_ex : {false, true}) {
        SCOPED_TRACE(hybrid_ex ? "HYBRID_EX" : "HYBRID");
        const auto outcome = run(kPassword, hybrid_ex);
        ASSERT_TRUE(std::holds_alternative<credssp::Authenticated>(outcome.server))
            << (std::holds_alternative<rdp::Failure>(outcome.server)
                    ? std::get<rdp::Failure>(outcome.server).detail
                    : "still in progress");
        const auto& authenticated = std::get<credssp::Authenticated>(outcome.server);
        EXPECT_EQ(authenticated.credentials.domain, "CORP");
        EXPECT_EQ(authenticated.credentials.user, "alice");
        EXPECT_EQ(credssp::password_to_utf8(authenticated.credentials.password)->size(),
                  std::string_view(kPassword).size());
        EXPECT_EQ(authenticated.version, credssp::kVersion);
        ASSERT_TRUE(std::holds_alternative<credssp::Delegated>(outcome.client));
    }
}

TEST_F(NlaCredssp, WrongPasswordFailsOnBothSidesWithoutNamingIt) {
    const auto outcome = run("Wrong-Horse-9", false);
    ASSERT_TRUE(std::holds_alternative<rdp::Failure>(outcome.server));
    const auto& server_failure = std::get<rdp::Failure>(outcome.server);
    EXPECT_EQ(server_failure.cause, rdp::Cause::client_nla_failed) << server_failure.detail;
    // The client reads the server's errorCode (version 3 and later): a logon failure.
    ASSERT_TRUE(std::holds_alternative<rdp::Failure>(outcome.client));
    const auto& client_failure = std::get<rdp::Failure>(outcome.client);
    EXPECT_EQ(client_failure.cause, rdp::Cause::host_nla_logon_failure) << client_failure.detail;
    for (const auto* detail : {&server_failure.detail, &client_failure.detail}) {
        EXPECT_EQ(detail->find("Wrong-Horse-9"), std::string::npos);
        EXPECT_EQ(detail->find(kPassword), std::string::npos);
    }
}

}  // namespace
