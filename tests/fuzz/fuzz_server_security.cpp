// fuzz-requires: server_security.cpp
// SC_SECURITY under Standard RDP Security (decode_server_security): methods, level, server
// random, proprietary or X.509 certificate. Built only once rdp/server_security.cpp is part of
// the rdpbridge_rdp library (see the fuzz-requires line above and harnesses.cmake).
//
// Input: the SC_SECURITY block's body (without its 4-byte GCC header).
// Oracles: everything decoded lies within the block; a method other than NONE comes with a
// 32-byte random; the names of what was decoded can be printed; the block a TLS server sends
// decodes to NONE/NONE.
#include "rdp/server_security.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;

RDPBRIDGE_FUZZ_TARGET(fuzz_server_security) {
    const gcc::DataBlock block{gcc::block::sc_security, Bytes(input.begin(), input.end())};
    auto sec = decode_server_security(block);
    if (sec) {
        (void)encryption_methods_to_string(sec->method);
        (void)to_string(sec->level);
        FUZZ_CHECK(sec->server_random.size() <= input.size(),
                   "server random larger than the block");
        if (sec->method != encryption_method::none)
            FUZZ_CHECK(sec->server_random.size() == 32,
                       "server random of " + std::to_string(sec->server_random.size()) + " bytes");
        if (sec->certificate) {
            const auto& cert = *sec->certificate;
            FUZZ_CHECK(cert.key.modulus.size() <= input.size(), "modulus larger than the block");
            std::size_t chain = 0;
            for (const auto& der : cert.x509_chain) chain += der.size();
            FUZZ_CHECK(chain <= input.size(), "certificate chain larger than the block");
            if (cert.kind == CertificateKind::proprietary)
                FUZZ_CHECK(cert.x509_chain.empty(), "proprietary certificate with an X.509 chain");
        }
    }
    static const bool tls_checked = [] {
        auto tls = decode_server_security(tls_server_security());
        FUZZ_CHECK(tls.ok() && tls->method == encryption_method::none &&
                       tls->level == EncryptionLevel::none && !tls->certificate,
                   "tls_server_security() does not decode to NONE/NONE");
        return true;
    }();
    (void)tls_checked;
}
