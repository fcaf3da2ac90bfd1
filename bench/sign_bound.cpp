#include "bench/sign_bound.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

#include "bench/proc_stats.hpp"

namespace rdpbridge::bench {

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using KeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("sign bound: " + what);
}

Key load(const std::filesystem::path& path) {
    std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "r"), std::fclose);
    if (!f) fail("cannot read " + path.string());
    Key key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    if (!key) fail("no private key in " + path.string());
    return key;
}

// Repeats `sign_once` until `seconds` of this thread's CPU time have passed.
template <class Fn>
double rate(double seconds, Fn sign_once) {
    const double start = thread_cpu_seconds();
    double used = 0;
    uint64_t ops = 0;
    do {
        sign_once();
        ++ops;
        used = thread_cpu_seconds() - start;
    } while (used < seconds);
    return double(ops) / used;
}

}  // namespace

SignBound sign_bound(const std::filesystem::path& private_key_pem, double seconds) {
    Key key = load(private_key_pem);
    const int bits = EVP_PKEY_get_bits(key.get());
    std::vector<unsigned char> digest(32, 0xA5);  // a SHA-256 digest of the transcript
    std::vector<unsigned char> sig(std::size_t(EVP_PKEY_get_size(key.get())));
    SignBound bound;

    if (EVP_PKEY_is_a(key.get(), "ED25519") || EVP_PKEY_is_a(key.get(), "ED448")) {
        // EdDSA signs messages, not digests: EVP_PKEY_sign does not apply.
        bound.key = EVP_PKEY_get0_type_name(key.get());
        bound.scheme = EVP_PKEY_is_a(key.get(), "ED25519") ? "ed25519" : "ed448";
        MdCtx md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        bound.ops_per_cpu_second = rate(seconds, [&] {
            std::size_t n = sig.size();
            if (EVP_DigestSignInit(md.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
                EVP_DigestSign(md.get(), sig.data(), &n, digest.data(), digest.size()) != 1)
                fail("EdDSA sign");
        });
        return bound;
    }

    KeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr), EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1)
        fail("EVP_PKEY_sign_init");
    if (EVP_PKEY_is_a(key.get(), "RSA")) {
        // TLS 1.3 signs with RSA-PSS, salt as long as the hash.
        if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1)
            fail("RSA-PSS parameters");
        bound.key = "RSA-" + std::to_string(bits);
        bound.scheme = "rsa_pss_rsae_sha256";
    } else if (EVP_PKEY_is_a(key.get(), "EC")) {
        bound.key = "EC-" + std::to_string(bits);
        bound.scheme = "ecdsa_sha256";
    } else {
        bound.key = EVP_PKEY_get0_type_name(key.get());
        bound.scheme = "sha256";
    }
    bound.ops_per_cpu_second = rate(seconds, [&] {
        std::size_t n = sig.size();
        if (EVP_PKEY_sign(ctx.get(), sig.data(), &n, digest.data(), digest.size()) != 1)
            fail("EVP_PKEY_sign");
    });
    return bound;
}

}  // namespace rdpbridge::bench
