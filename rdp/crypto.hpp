// The primitives Standard RDP Security is built from (MD5, SHA-1, HMAC-SHA1, RC4, 3DES-CBC, raw
// RSA), and CredSSP's SHA-256 and certificate public key, from OpenSSL's libcrypto. RC4 lives in
// OpenSSL 3's legacy provider; it is loaded into a private library context used only here, so
// legacy algorithms never become available to the TLS code or to anything else in the process.
// No I/O happens here, and nothing throws: when OpenSSL cannot give an algorithm (the legacy
// provider is missing, or a call fails) the Error says which and how to fix it.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "rdp/bytes.hpp"
#include "rdp/error.hpp"

namespace rdpbridge::rdp::crypto {

using Md5 = std::array<uint8_t, 16>;
using Sha1 = std::array<uint8_t, 20>;
using Sha256 = std::array<uint8_t, 32>;

// Digests over the concatenation of the given parts.
Result<Md5> md5(std::initializer_list<ByteView> parts);
Result<Sha1> sha1(std::initializer_list<ByteView> parts);
Result<Sha256> sha256(std::initializer_list<ByteView> parts);
Result<Sha1> hmac_sha1(ByteView key, std::initializer_list<ByteView> parts);

// A running RC4 keystream: successive calls continue where the last one stopped, as RDP
// requires across PDUs. apply() before a successful reset() is an error, not a no-op.
class Rc4 {
  public:
    Rc4();
    ~Rc4();
    Rc4(Rc4&&) noexcept;
    Rc4& operator=(Rc4&&) noexcept;
    Status reset(ByteView key);
    Status apply(uint8_t* data, std::size_t size);

  private:
    struct State;
    std::unique_ptr<State> s_;
};

// 3DES-CBC with the chaining carried across calls; sizes must be multiples of 8.
class TripleDes {
  public:
    TripleDes();
    ~TripleDes();
    TripleDes(TripleDes&&) noexcept;
    TripleDes& operator=(TripleDes&&) noexcept;
    Status reset(ByteView key24, ByteView iv8, bool encrypt);
    Status apply(uint8_t* data, std::size_t size);

  private:
    struct State;
    std::unique_ptr<State> s_;
};

// m^e mod n with every number little-endian, as RDP writes them; the result has n's size. An
// error for a modulus of zero (a host may send one) or when OpenSSL fails.
Result<Bytes> rsa_public_le(ByteView message_le, ByteView modulus_le, uint32_t exponent);
Result<Bytes> rsa_public_le(ByteView message_le, ByteView modulus_le, ByteView exponent_le);

// Public key of a DER X.509 certificate as little-endian modulus and exponent; nullopt if the
// certificate does not parse or its key is not RSA.
struct RsaKeyLe {
    Bytes modulus;
    uint32_t exponent;
    int bits;
};
std::optional<RsaKeyLe> x509_rsa_key(ByteView der);

// The contents of a DER X.509 certificate's subjectPublicKey BIT STRING, without its
// unused-bits octet (for RSA the DER RSAPublicKey): what CredSSP binds its run to. nullopt if
// the certificate does not parse.
std::optional<Bytes> x509_subject_public_key(ByteView der);

// Wipes key material before its memory is released.
void cleanse(void* p, std::size_t n);

// Why the private library context cannot give the algorithms above (the legacy provider with
// RC4 and MD5 does not load, or one of them is missing), or nullopt when it can. Start-up asks,
// to fail once with the fix rather than in every session that needs them; a session that runs
// anyway gets the same reason as the Error of its first digest or cipher.
std::optional<std::string> legacy_provider_problem();

}  // namespace rdpbridge::rdp::crypto
