// Who may read the admin endpoint, without Asio: what a request's Authorization header holds,
// and whether it carries the credentials [admin] configures (token_file or basic_auth_file).
// Secrets are kept only as SHA-256 digests and compared in constant time, so the time an answer
// takes tells nothing of how close a guess came. Nothing here logs or prints a secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "rdp/bytes.hpp"
#include "rdp/crypto.hpp"
#include "rdp/secret.hpp"

namespace rdpbridge::proxy {

// What each file holds, for the fixes of start-up and check-config alike.
inline constexpr const char* kAdminTokenFileHolds =
    "with the bearer token on one line (e.g. openssl rand -hex 32)";
inline constexpr const char* kAdminUsersFileHolds = "with one user:password line per user";

// The path of a request target, without its query ("/metrics?x=1" -> "/metrics").
std::string_view admin_path(std::string_view target);

// /healthz and /readyz answer without credentials: load balancers and service managers probe
// them with no secret to hand, and they reveal nothing.
bool admin_path_is_public(std::string_view path);

// An Authorization header per RFC 7235: `scheme 1*SP token68`, the scheme lower-cased (schemes
// are case-insensitive). nullopt for anything else (no credentials, auth-params, a space inside).
struct Authorization {
    std::string scheme;
    std::string_view credentials;
};
std::optional<Authorization> parse_authorization(std::string_view header);

// RFC 4648 base64, standard alphabet, padded to a multiple of 4; nullopt for any other byte,
// misplaced padding or non-zero bits after the last byte. A Secret: it is a password.
std::optional<rdp::Secret> decode_base64(std::string_view text);

enum class AdminAuthResult {
    granted,       // valid credentials, or none configured
    missing,       // no Authorization header
    malformed,     // not `scheme token68`, bad base64, or Basic without a colon
    wrong_scheme,  // a scheme other than the one configured
    rejected,      // well-formed, but not a configured secret
};
// For the request log: "granted", "no credentials", "malformed credentials", ...
std::string_view to_string(AdminAuthResult r);

class AdminCredentials {
  public:
    AdminCredentials() = default;  // none: every request is granted (the endpoint is on loopback)

    // The token as token_file's first line holds it (RFC 6750's token68 characters).
    static std::variant<AdminCredentials, std::string> bearer(rdp::ByteView token);
    // basic_auth_file's text: `user:password` lines (the password may hold ':'), blank lines and
    // `#` comments skipped. A problem names its line, never a password.
    static std::variant<AdminCredentials, std::string> basic(rdp::ByteView text);

    config::AdminAccess access() const { return access_; }
    // `authorization`: the header's value, empty when the request has none.
    AdminAuthResult check(std::string_view authorization) const;
    // The WWW-Authenticate value of a 401.
    std::string challenge() const;
    // The 401's body: what the client must send.
    std::string refusal() const;

  private:
    config::AdminAccess access_ = config::AdminAccess::loopback_only;
    std::vector<rdp::crypto::Sha256> digests_;  // of the token, or of each "user:password"
};

// [admin]'s token_file or basic_auth_file read (private_file_problem's rules) and parsed; with
// neither, no credentials. A problem names the key and the file, with the fix.
std::variant<AdminCredentials, std::string> read_admin_credentials(const config::Admin& admin);

}  // namespace rdpbridge::proxy
