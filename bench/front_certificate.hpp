// The front certificate an operator who wants cheaper handshakes brings: an ECDSA P-256 key and
// a self-signed certificate for it, written as PEM files for [listener.tls] certificate and
// private_key. The handshake scenario measures the gateway with it beside the RSA-2048
// certificate the gateway generates by default.
#pragma once

#include <filesystem>

namespace rdpbridge::bench {

struct FrontCertificate {
    std::filesystem::path certificate;
    std::filesystem::path private_key;  // mode 0600, as the gateway expects of a key
};

FrontCertificate write_ecdsa_front_certificate(const std::filesystem::path& dir);

}  // namespace rdpbridge::bench
