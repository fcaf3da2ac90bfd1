// The bound for handshakes: every full handshake costs the gateway one signature with its front
// certificate's private key (TLS 1.3 CertificateVerify). Measured in-process on one core with
// the very key the gateway loaded, with the scheme TLS 1.3 uses for that key type.
#pragma once

#include <filesystem>
#include <string>

namespace rdpbridge::bench {

struct SignBound {
    double ops_per_cpu_second = 0;
    std::string key;     // e.g. "RSA-2048"
    std::string scheme;  // e.g. "rsa_pss_rsae_sha256"
};

SignBound sign_bound(const std::filesystem::path& private_key_pem, double seconds);

}  // namespace rdpbridge::bench
