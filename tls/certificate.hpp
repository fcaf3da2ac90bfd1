// The front certificate: the operator's files, or a self-signed one generated on first start
// and kept in the state directory so that clients can pin it across restarts.
#pragma once

#include <filesystem>
#include <string>

namespace rdpbridge::tls {

struct CertificateFiles {
    std::filesystem::path certificate;
    std::filesystem::path private_key;
    bool generated = false;
};

// Returns the files in `state_dir` (front-cert.pem, front-key.pem), generating an RSA-2048
// self-signed certificate for `common_name` when none exists or the existing one expired.
// Where ensure_self_signed keeps the certificate.
std::filesystem::path generated_certificate_path(const std::filesystem::path& state_dir);

CertificateFiles ensure_self_signed(const std::filesystem::path& state_dir,
                                    const std::string& common_name);

}  // namespace rdpbridge::tls
