#include "proxy/startup_checks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "rdp/credssp.hpp"

namespace rdpbridge::proxy {

namespace {

// Bytes of the password file read at most. The longest valid password is 255 UTF-16 units,
// at most 1,020 bytes of UTF-8, so a first line that does not end within these is too long.
constexpr std::size_t kMaxPasswordFileRead = 4096;

// What sealing adds to the TSCredentials inside a TSRequest, at most: NTLM's 16-byte signature,
// a Kerberos wrap token's header and checksum, and the TSRequest's own DER framing.
constexpr std::size_t kSealAndFramingOverhead = 256;

std::string owner_fix(const std::string& file) {
    return "make it readable by the user the gateway runs as (chown that user " + file +
           "; chmod 600 " + file + ")";
}

}  // namespace

std::optional<std::string> private_file_problem(const std::string& what,
                                                const std::filesystem::path& path,
                                                const std::string& create) {
    const std::string file = path.string();
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return what + " " + file + ": " + std::strerror(errno) + "; create it " + create +
                   " and chmod 600 it";
        }
        return what + " " + file + " cannot be reached by the gateway: " + std::strerror(errno) +
               "; the directories above it must be searchable by the user the gateway runs as, "
               "and " +
               owner_fix(file);
    }
    if (!S_ISREG(st.st_mode)) {
        return what + " " + file + " is not a regular file (" +
               (S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket") +
               "); point it at a file " + create;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
        return what + " " + file + " has mode " + mode +
               ": it holds passwords, so only the gateway's user may read it; chmod 600 " + file;
    }
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return what + " " + file + " cannot be read by the gateway: " + std::strerror(errno) +
               "; " + owner_fix(file);
    }
    ::close(fd);
    return std::nullopt;
}

std::optional<std::string> service_password_problem(const config::ServiceCredentials& credentials,
                                                    rdp::ByteView utf8) {
    if (utf8.empty()) return std::string("the password (its first line) is empty");
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        if (utf8[i] == 0) {
            return "the password holds a NUL byte (at byte " + std::to_string(i) +
                   "), where RDP and NTLM end a password; remove it";
        }
    }
    const std::string_view text(reinterpret_cast<const char*>(utf8.data()), utf8.size());
    auto utf16 = rdp::credssp::password_from_utf8(text);
    if (!utf16) {
        return "the password is not valid UTF-8 (" + utf16.error().reason +
               "); save the file as UTF-8, e.g. iconv -f WINDOWS-1252 -t UTF-8";
    }
    const std::size_t units = utf16->size() / 2;
    if (units > kMaxPasswordUtf16Units) {
        return "the password is " + std::to_string(units) +
               " UTF-16 characters long, more than RDP allows: at most " +
               std::to_string(kMaxPasswordUtf16Units) +
               " (the Client Info's password field holds 512 bytes of UTF-16 including its "
               "terminator, [MS-RDPBCGR] 2.2.1.11.1.1); give the account a shorter password";
    }
    const rdp::credssp::PasswordCredentials creds{credentials.domain, credentials.user,
                                                  std::move(*utf16)};
    auto encoded = rdp::credssp::encode_ts_credentials(creds);
    if (!encoded) {
        return "CredSSP cannot carry these credentials: " + encoded.error().message() +
               "; check user and domain in [backend.credentials]";
    }
    if (encoded->size() + kSealAndFramingOverhead > rdp::credssp::kMaxTsRequestSize) {
        return "CredSSP cannot carry these credentials: with the user and domain they take " +
               std::to_string(encoded->size()) + " bytes, and one TSRequest holds at most " +
               std::to_string(rdp::credssp::kMaxTsRequestSize) +
               "; shorten user or domain in [backend.credentials]";
    }
    return std::nullopt;
}

std::variant<PrivateFileBytes, std::string> read_private_file(const std::string& what,
                                                              const std::filesystem::path& path,
                                                              const std::string& create,
                                                              std::size_t max_bytes) {
    const std::string file = path.string();
    if (auto problem = private_file_problem(what, path, create)) return *problem;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return what + " " + file + " cannot be read by the gateway: " + std::strerror(errno) +
               "; " + owner_fix(file);
    }
    // One allocation up front: the bytes are never moved, and the Secret wipes all of them.
    rdp::Bytes bytes(max_bytes);
    std::size_t size = 0;
    int error = 0;
    while (size < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + size, bytes.size() - size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = errno;
        if (n <= 0) break;
        size += std::size_t(n);
    }
    ::close(fd);
    const bool filled = size == bytes.size();
    bytes.resize(size);
    rdp::Secret contents(std::move(bytes));  // from here on, wiped however this ends
    if (error != 0) {
        return what + " " + file + " cannot be read by the gateway: " + std::strerror(error) +
               "; " + owner_fix(file);
    }
    return PrivateFileBytes{std::move(contents), filled};
}

std::optional<rdp::ByteView> first_line(const PrivateFileBytes& file) {
    const rdp::ByteView all = file.bytes.view();
    const std::size_t newline = std::find(all.begin(), all.end(), uint8_t('\n')) - all.begin();
    if (newline == all.size() && file.filled) return std::nullopt;
    std::size_t end = newline;
    if (end > 0 && all[end - 1] == '\r') --end;
    return all.subspan(0, end);
}

std::variant<rdp::Secret, std::string> read_service_password(
    const std::string& what, const config::ServiceCredentials& credentials) {
    const std::string file = credentials.password_file.string();
    auto read =
        read_private_file(what, credentials.password_file,
                          "with the service account's password on one line", kMaxPasswordFileRead);
    if (auto* problem = std::get_if<std::string>(&read)) return std::move(*problem);
    const auto line = first_line(std::get<PrivateFileBytes>(read));
    if (!line) {
        return what + " " + file + ": the password is more than " +
               std::to_string(kMaxPasswordFileRead) +
               " bytes long, more than RDP allows: at most " +
               std::to_string(kMaxPasswordUtf16Units) +
               " UTF-16 characters (the Client Info's password field); give the account a "
               "shorter password";
    }
    rdp::Secret password(*line);
    if (auto problem = service_password_problem(credentials, password.view()))
        return what + " " + file + ": " + *problem;
    return password;
}

std::vector<std::string> legacy_crypto_users(const config::Config& config) {
    std::vector<std::string> users;
    for (const auto& b : config.backends) {
        if (b.security != config::BackendSecurity::tls) {
            users.push_back("backend " + b.name + " (security = \"" +
                            std::string(config::to_string(b.security)) +
                            "\": Standard RDP Security's RC4 and MD5)");
        } else if (b.credentials) {
            users.push_back("backend " + b.name + " (credentials: CredSSP towards the host)");
        }
    }
    for (const auto& l : config.listeners) {
        if (l.nla != config::NlaMode::off)
            users.push_back("listener " + l.name + " (nla = \"" +
                            std::string(config::to_string(l.nla)) + "\": CredSSP, NTLM)");
    }
    return users;
}

std::optional<std::string> legacy_crypto_problem(
    const config::Config& config, const std::function<std::optional<std::string>()>& probe) {
    const auto users = legacy_crypto_users(config);
    if (users.empty()) return std::nullopt;
    const auto problem = probe();
    if (!problem) return std::nullopt;
    std::string who;
    for (const auto& u : users) who += (who.empty() ? "" : ", ") + u;
    return "OpenSSL's legacy provider is needed by " + who + ", but: " + *problem +
           ". Install it (Debian: libssl3 ships ossl-modules/legacy.so; if OPENSSL_MODULES is "
           "set it must name the directory holding legacy.so), or set security = \"tls\" on "
           "backends that never need Standard RDP Security and turn NLA off";
}

}  // namespace rdpbridge::proxy
