// What the gateway checks once at start, so that a broken setup fails there, with the fix in
// the message, instead of in every session (or worse, silently: a password file that cannot be
// read used to count as an empty password). Free of Asio, so each check is unit-tested.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "rdp/bytes.hpp"
#include "rdp/secret.hpp"

namespace rdpbridge::proxy {

// A file holding passwords or keys must exist, be a regular file, have no group or other
// permission, and open for reading as the user the gateway runs as (open(), not access(): the
// real check, with the effective ids and whatever else the kernel enforces). The problem with
// its fix, or nullopt. `what` names the key; `create` says what the file should hold.
std::optional<std::string> private_file_problem(const std::string& what,
                                                const std::filesystem::path& path,
                                                const std::string& create);

// The first `max_bytes` of a file that passes private_file_problem, in a Secret (wiped however
// it ends). `filled`: they filled `max_bytes`, so the file may go on beyond them.
struct PrivateFileBytes {
    rdp::Secret bytes;
    bool filled = false;
};
std::variant<PrivateFileBytes, std::string> read_private_file(const std::string& what,
                                                              const std::filesystem::path& path,
                                                              const std::string& create,
                                                              std::size_t max_bytes);

// The file's first line without its end (LF or CRLF); nullopt when no LF comes before the end of
// bytes that `filled` the read, so the line may go on.
std::optional<rdp::ByteView> first_line(const PrivateFileBytes& file);

// The longest password RDP carries: the Client Info's password field is 512 bytes of UTF-16LE
// including its two-byte terminator ([MS-RDPBCGR] 2.2.1.11.1.1), so 255 UTF-16 code units.
inline constexpr std::size_t kMaxPasswordUtf16Units = 255;

// Why `utf8` cannot be the password of `credentials`' account, or nullopt: not UTF-8, a NUL
// (gss-ntlmssp and the Client Info end a password there), longer than kMaxPasswordUtf16Units,
// or too long with the user and domain to fit one CredSSP TSRequest. Never quotes the password.
std::optional<std::string> service_password_problem(const config::ServiceCredentials& credentials,
                                                    rdp::ByteView utf8);

// The service password: the first line of the file (a trailing CR dropped), checked by
// private_file_problem and service_password_problem. `what` prefixes every message.
std::variant<rdp::Secret, std::string> read_service_password(
    const std::string& what, const config::ServiceCredentials& credentials);

// Who needs the legacy provider's private context: backends that may speak Standard RDP
// Security (RC4, MD5), listeners with NLA and backends with service credentials (CredSSP's
// digests come from the same context). Each entry names the listener or backend and why.
std::vector<std::string> legacy_crypto_users(const config::Config& config);

// Why the gateway cannot start with this config's crypto needs, or nullopt. `probe` reports
// whether the legacy provider loads (rdp::crypto::legacy_provider_problem; replaceable in tests).
std::optional<std::string> legacy_crypto_problem(
    const config::Config& config, const std::function<std::optional<std::string>()>& probe);

}  // namespace rdpbridge::proxy
