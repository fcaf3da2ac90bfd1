#include "proxy/admin_auth.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

#include "proxy/startup_checks.hpp"

namespace rdpbridge::proxy {

namespace {

// A token longer than this is a mistake (a whole key file, say): the fix says so.
constexpr std::size_t kMaxTokenFileRead = 4096;
// A users file is a handful of lines; this bounds what a wrong path could make start-up read.
constexpr std::size_t kMaxUsersFileRead = 64 * 1024;

std::string_view text_of(rdp::ByteView bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

rdp::ByteView bytes_of(std::string_view text) {
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// RFC 7235 token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_token68(std::string_view s) {
    const auto body_end = s.find_last_not_of('=');
    if (body_end == std::string_view::npos) return false;
    return std::all_of(s.begin(), s.begin() + long(body_end) + 1, [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
               c == '/';
    });
}

// RFC 7230 tchar, what an auth-scheme is made of.
bool is_tchar(unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos;
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::optional<rdp::crypto::Sha256> digest(rdp::ByteView secret) {
    auto d = rdp::crypto::sha256({secret});
    if (!d) return std::nullopt;
    return *d;
}

// Whether `secret` is one of `digests`: every entry is compared, in constant time, so neither
// which entry matched nor how much of it shows in the time taken.
bool matches_any(rdp::ByteView secret, const std::vector<rdp::crypto::Sha256>& digests) {
    const auto d = digest(secret);
    if (!d) return false;
    int found = 0;
    for (const auto& known : digests)
        found |= int(CRYPTO_memcmp(d->data(), known.data(), known.size()) == 0);
    return found != 0;
}

}  // namespace

std::string_view admin_path(std::string_view target) {
    return target.substr(0, target.find('?'));
}

bool admin_path_is_public(std::string_view path) {
    return path == "/healthz" || path == "/readyz";
}

std::optional<Authorization> parse_authorization(std::string_view header) {
    const auto first = header.find_first_not_of(" \t");
    if (first == std::string_view::npos) return std::nullopt;
    header = header.substr(first, header.find_last_not_of(" \t") - first + 1);
    const auto space = header.find(' ');
    if (space == 0 || space == std::string_view::npos) return std::nullopt;
    Authorization out;
    for (const char c : header.substr(0, space)) {
        if (!is_tchar(static_cast<unsigned char>(c))) return std::nullopt;
        out.scheme += char(std::tolower(static_cast<unsigned char>(c)));
    }
    out.credentials = header.substr(header.find_first_not_of(' ', space));
    if (!is_token68(out.credentials)) return std::nullopt;
    return out;
}

std::optional<rdp::Secret> decode_base64(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    const auto data_end = text.find('=');
    const std::size_t pad = data_end == std::string_view::npos ? 0 : text.size() - data_end;
    if (pad > 2 ||
        (pad > 0 && text.substr(data_end).find_first_not_of('=') != std::string_view::npos))
        return std::nullopt;
    rdp::Bytes out;
    out.reserve(text.size() / 4 * 3);
    rdp::WipeOnExit wipe(out);  // what an early return leaves; empty once the Secret has it
    uint32_t bits = 0;
    int count = 0;
    for (const char c : text.substr(0, text.size() - pad)) {
        const int v = base64_value(c);
        if (v < 0) return std::nullopt;
        bits = (bits << 6) | uint32_t(v);
        if (++count == 4) {
            out.push_back(uint8_t(bits >> 16));
            out.push_back(uint8_t(bits >> 8));
            out.push_back(uint8_t(bits));
            bits = 0;
            count = 0;
        }
    }
    // 2 or 3 characters left carry 1 or 2 bytes; the bits after them must be zero (canonical).
    if (count == 2) {
        if ((bits & 0xf) != 0) return std::nullopt;
        out.push_back(uint8_t(bits >> 4));
    } else if (count == 3) {
        if ((bits & 0x3) != 0) return std::nullopt;
        out.push_back(uint8_t(bits >> 10));
        out.push_back(uint8_t(bits >> 2));
    }
    return rdp::Secret(std::move(out));
}

std::string_view to_string(AdminAuthResult r) {
    switch (r) {
        case AdminAuthResult::granted:
            return "granted";
        case AdminAuthResult::missing:
            return "no credentials";
        case AdminAuthResult::malformed:
            return "malformed credentials";
        case AdminAuthResult::wrong_scheme:
            return "wrong authentication scheme";
        case AdminAuthResult::rejected:
            return "wrong credentials";
    }
    return "?";
}

std::variant<AdminCredentials, std::string> AdminCredentials::bearer(rdp::ByteView token) {
    if (token.empty()) return std::string("the token (the file's first line) is empty");
    if (!is_token68(text_of(token))) {
        return std::string(
            "the token holds a character a client cannot send in an Authorization: Bearer "
            "header (a space, a control or a non-ASCII byte, or '=' before its end); use "
            "letters, digits and - . _ ~ + /, e.g. openssl rand -hex 32");
    }
    AdminCredentials c;
    c.access_ = config::AdminAccess::bearer_token;
    auto d = digest(token);
    if (!d) return std::string("SHA-256 is not available from OpenSSL");
    c.digests_.push_back(*d);
    return c;
}

std::variant<AdminCredentials, std::string> AdminCredentials::basic(rdp::ByteView text) {
    AdminCredentials c;
    c.access_ = config::AdminAccess::basic_auth;
    std::vector<std::pair<std::string, int>> users;  // name, line
    std::string_view rest = text_of(text);
    for (int number = 1; !rest.empty(); ++number) {
        const auto newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.empty() || line.starts_with('#')) continue;
        const std::string where = "line " + std::to_string(number) + ": ";
        if (std::any_of(line.begin(), line.end(),
                        [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; })) {
            return where + "a control character, which no client can send; remove it";
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return where + "not user:password (a user, a colon, the password)";
        const std::string user(line.substr(0, colon));
        if (colon + 1 == line.size()) return where + "user " + user + " has an empty password";
        for (const auto& [name, first] : users) {
            if (name == user) {
                return where + "user " + user + " is already on line " + std::to_string(first) +
                       "; keep one line per user";
            }
        }
        users.emplace_back(user, number);
        auto d = digest(bytes_of(line));
        if (!d) return std::string("SHA-256 is not available from OpenSSL");
        c.digests_.push_back(*d);
    }
    if (c.digests_.empty()) return std::string("no user:password line; add one per user");
    return c;
}

AdminAuthResult AdminCredentials::check(std::string_view authorization) const {
    if (access_ == config::AdminAccess::loopback_only) return AdminAuthResult::granted;
    if (authorization.find_first_not_of(" \t") == std::string_view::npos)
        return AdminAuthResult::missing;
    const auto parsed = parse_authorization(authorization);
    if (!parsed) return AdminAuthResult::malformed;
    const bool bearer = access_ == config::AdminAccess::bearer_token;
    if (parsed->scheme != (bearer ? "bearer" : "basic")) return AdminAuthResult::wrong_scheme;
    if (bearer) {
        return matches_any(bytes_of(parsed->credentials), digests_) ? AdminAuthResult::granted
                                                                    : AdminAuthResult::rejected;
    }
    const auto decoded = decode_base64(parsed->credentials);
    if (!decoded || text_of(decoded->view()).find(':') == std::string_view::npos)
        return AdminAuthResult::malformed;
    return matches_any(decoded->view(), digests_) ? AdminAuthResult::granted
                                                  : AdminAuthResult::rejected;
}

std::string AdminCredentials::challenge() const {
    switch (access_) {
        case config::AdminAccess::bearer_token:
            return "Bearer realm=\"rdpbridge\"";
        case config::AdminAccess::basic_auth:
            return "Basic realm=\"rdpbridge\", charset=\"UTF-8\"";
        case config::AdminAccess::loopback_only:
            break;
    }
    return {};
}

std::string AdminCredentials::refusal() const {
    const std::string what =
        access_ == config::AdminAccess::basic_auth
            ? "log in with a user and password from [admin] basic_auth_file (HTTP Basic)"
            : "send Authorization: Bearer <the token in [admin] token_file>";
    return "401 unauthorized: " + what + "; /healthz and /readyz need no credentials\n";
}

std::variant<AdminCredentials, std::string> read_admin_credentials(const config::Admin& admin) {
    const bool token = admin.token_file.has_value();
    if (!token && !admin.basic_auth_file) return AdminCredentials{};
    const auto& path = token ? *admin.token_file : *admin.basic_auth_file;
    const std::string what = token ? "[admin] token_file" : "[admin] basic_auth_file";
    const std::string where = what + " " + path.string() + ": ";
    auto read = read_private_file(what, path, token ? kAdminTokenFileHolds : kAdminUsersFileHolds,
                                  token ? kMaxTokenFileRead : kMaxUsersFileRead);
    if (auto* problem = std::get_if<std::string>(&read)) return std::move(*problem);
    const auto& contents = std::get<PrivateFileBytes>(read);
    std::variant<AdminCredentials, std::string> parsed;
    if (token) {
        const auto line = first_line(contents);
        if (!line) {
            return where + "the token is longer than " + std::to_string(kMaxTokenFileRead) +
                   " bytes; write the token alone on the first line (openssl rand -hex 32)";
        }
        parsed = AdminCredentials::bearer(*line);
    } else {
        if (contents.filled) {
            return where + "larger than " + std::to_string(kMaxUsersFileRead / 1024) +
                   " KiB; is it the right file? It holds " + kAdminUsersFileHolds;
        }
        parsed = AdminCredentials::basic(contents.bytes.view());
    }
    if (auto* problem = std::get_if<std::string>(&parsed)) return where + *problem;
    return parsed;
}

}  // namespace rdpbridge::proxy
