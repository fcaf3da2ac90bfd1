// The generated front certificate's files (tls/certificate.cpp): their modes, and what a stale
// or planted file under their names can and cannot do.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <openssl/pem.h>

#include <memory>

#include "tls/certificate.hpp"
#include "tls/inspect.hpp"

using namespace rdpbridge;
namespace fs = std::filesystem;

namespace {

class StateDir : public ::testing::Test {
  protected:
    StateDir() {
        std::string pattern = fs::temp_directory_path() / "cert-XXXXXX";
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        old_umask_ = ::umask(0);  // the modes must not depend on the umask
    }
    ~StateDir() override {
        ::umask(old_umask_);
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    static unsigned mode_of(const fs::path& p) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) return 0xFFFF;
        return st.st_mode & 07777;
    }
    static bool regular(const fs::path& p) {
        struct stat st {};
        return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    }
    static std::string content(const fs::path& p) {
        std::ostringstream s;
        s << std::ifstream(p).rdbuf();
        return s.str();
    }
    tls::CertificateFiles generate() { return tls::ensure_self_signed(dir_, "gw.example"); }

    fs::path dir_;
    mode_t old_umask_ = 0;
};

TEST_F(StateDir, KeyAndCertificateAre0600NoTemporaryLeft) {
    const auto files = generate();
    EXPECT_TRUE(files.generated);
    EXPECT_TRUE(regular(files.private_key));
    EXPECT_EQ(mode_of(files.private_key), 0600u);
    EXPECT_EQ(mode_of(files.certificate), 0600u);
    EXPECT_TRUE(content(files.private_key).starts_with("-----BEGIN PRIVATE KEY-----"));
    for (const auto& entry : fs::directory_iterator(dir_))
        EXPECT_FALSE(entry.path().string().ends_with(".tmp")) << entry.path();
    // A second start keeps the same files.
    EXPECT_FALSE(generate().generated);
}

// A temporary file left by a crash, world-readable: reusing it (O_TRUNC) would have kept its mode.
TEST_F(StateDir, StaleTemporaryFileDoesNotLendItsMode) {
    const fs::path stale = dir_ / "front-key.pem.tmp";
    std::ofstream(stale) << "stale";
    ::chmod(stale.c_str(), 0666);
    const auto files = generate();
    EXPECT_EQ(mode_of(files.private_key), 0600u);
    EXPECT_FALSE(fs::exists(fs::symlink_status(stale)));
}

// Whoever can write the state directory's parent could plant symlinks; none is followed.
TEST_F(StateDir, SymlinkUnderTheTemporaryNameIsNotFollowed) {
    const fs::path victim = dir_ / "victim";
    std::ofstream(victim) << "precious";
    ::chmod(victim.c_str(), 0644);
    fs::create_symlink(victim, dir_ / "front-key.pem.tmp");
    const auto files = generate();
    EXPECT_EQ(content(victim), "precious");
    EXPECT_EQ(mode_of(victim), 0644u);
    EXPECT_TRUE(regular(files.private_key));
    EXPECT_EQ(mode_of(files.private_key), 0600u);
}

TEST_F(StateDir, SymlinkAtTheKeyIsReplacedNotWrittenThrough) {
    const fs::path victim = dir_ / "victim";
    std::ofstream(victim) << "precious";
    fs::create_symlink(victim, dir_ / "front-key.pem");
    const auto files = generate();
    EXPECT_EQ(content(victim), "precious");
    EXPECT_TRUE(regular(files.private_key));
    EXPECT_EQ(mode_of(files.private_key), 0600u);
}

// describe_certificate works a certificate's facts out once and then finds them by its
// fingerprint: the second answer must be the first, field for field.
TEST_F(StateDir, CertificateFactsAreTheSameWhenRemembered) {
    const auto files = generate();
    auto read_cert = [&] {
        std::unique_ptr<FILE, decltype(&fclose)> f(fopen(files.certificate.c_str(), "r"), fclose);
        return std::unique_ptr<X509, decltype(&X509_free)>(
            PEM_read_X509(f.get(), nullptr, nullptr, nullptr), X509_free);
    };
    const auto first = tls::describe_certificate(read_cert().get());
    const auto again = tls::describe_certificate(read_cert().get());  // another X509, same DER
    ASSERT_TRUE(first && again);
    EXPECT_EQ(first->subject, "CN=gw.example,O=rdpbridge");
    EXPECT_EQ(again->subject, first->subject);
    EXPECT_EQ(again->issuer, first->issuer);
    EXPECT_EQ(again->not_after, first->not_after);
    EXPECT_EQ(again->days_left, first->days_left);
    EXPECT_EQ(again->sha256, first->sha256);
    EXPECT_EQ(again->spki_sha256, first->spki_sha256);
    EXPECT_EQ(again->key_bits, 2048);
    EXPECT_EQ(again->signature_algorithm, first->signature_algorithm);
}

}  // namespace
