#include "rdp/credssp.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "rdp/ber.hpp"
#include "rdp/crypto.hpp"
#include "rdp/utf16.hpp"

namespace rdpbridge::rdp::credssp {

namespace {

using ber::context;

constexpr const char* kTsRequest = "credssp.ts_request";
constexpr const char* kVersionField = "credssp.ts_request.version";
constexpr const char* kNegoTokens = "credssp.ts_request.nego_tokens";
constexpr const char* kNegoToken = "credssp.ts_request.nego_tokens.nego_token";
constexpr const char* kAuthInfo = "credssp.ts_request.auth_info";
constexpr const char* kPubKeyAuth = "credssp.ts_request.pub_key_auth";
constexpr const char* kErrorCode = "credssp.ts_request.error_code";
constexpr const char* kClientNonce = "credssp.ts_request.client_nonce";
constexpr const char* kTsCredentials = "credssp.ts_credentials";
constexpr const char* kCredType = "credssp.ts_credentials.cred_type";
constexpr const char* kCredentials = "credssp.ts_credentials.credentials";
constexpr const char* kPasswordCreds = "credssp.ts_password_creds";
constexpr const char* kDomainName = "credssp.ts_password_creds.domain_name";
constexpr const char* kUserName = "credssp.ts_password_creds.user_name";
constexpr const char* kPassword = "credssp.ts_password_creds.password";
constexpr const char* kEarlyUserAuth = "credssp.early_user_authorization_result";

// credType values ([MS-CSSP] 2.2.1.2).
constexpr int64_t kPasswordCredType = 1;
constexpr int64_t kSmartCardCredType = 2;
constexpr int64_t kRemoteGuardCredType = 6;

Status nothing_left(const Reader& r, const char* field) {
    if (r.empty()) return Ok{};
    return Error{field, std::to_string(r.remaining()) + " byte(s) after the value"};
}

// The whole of `bytes` must be one TLV tagged `tag`; its value.
Result<ByteView> read_whole(ByteView bytes, uint8_t tag, const char* field) {
    Reader r(bytes);
    auto tlv = ber::read(r, tag, field);
    if (!tlv) return tlv.error();
    if (auto s = nothing_left(r, field); !s) return s.error();
    return tlv->value;
}

// An EXPLICIT field [n] holding exactly one OCTET STRING; the string's contents.
Result<ByteView> read_octet_string_field(Reader& r, uint8_t n, const char* field) {
    auto wrapper = ber::read(r, context(n), field);
    if (!wrapper) return wrapper.error();
    return read_whole(wrapper->value, ber::kOctetString, field);
}

// An EXPLICIT field [n] holding exactly one INTEGER.
Result<int64_t> read_integer_field(Reader& r, uint8_t n, const char* field) {
    auto wrapper = ber::read(r, context(n), field);
    if (!wrapper) return wrapper.error();
    Reader inner(wrapper->value);
    auto value = ber::read_integer(inner, field);
    if (!value) return value.error();
    if (auto s = nothing_left(inner, field); !s) return s.error();
    return *value;
}

Result<std::vector<Bytes>> read_nego_tokens(Reader& r) {
    // negoTokens [1] SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
    auto wrapper = ber::read(r, context(1), kNegoTokens);
    if (!wrapper) return wrapper.error();
    auto list = read_whole(wrapper->value, ber::kSequence, kNegoTokens);
    if (!list) return list.error();
    std::vector<Bytes> tokens;
    Reader items(*list);
    while (!items.empty()) {
        auto item = ber::read(items, ber::kSequence, kNegoToken);
        if (!item) return item.error();
        Reader fields(item->value);
        auto token = read_octet_string_field(fields, 0, kNegoToken);
        if (!token) return token.error();
        if (auto s = nothing_left(fields, kNegoToken); !s) return s.error();
        tokens.emplace_back(token->begin(), token->end());
    }
    if (tokens.empty()) return Error{kNegoTokens, "present but holds no token"};
    return tokens;
}

Result<std::optional<Bytes>> read_optional_octet_string(Reader& r, uint8_t n, const char* field) {
    if (!ber::next_is(r, context(n))) return std::optional<Bytes>{};
    auto value = read_octet_string_field(r, n, field);
    if (!value) return value.error();
    return std::optional<Bytes>(Bytes(value->begin(), value->end()));
}

Result<std::optional<uint32_t>> read_error_code(Reader& r) {
    if (!ber::next_is(r, context(4))) return std::optional<uint32_t>{};
    auto value = read_integer_field(r, 4, kErrorCode);
    if (!value) return value.error();
    // An NTSTATUS is a signed 32-bit number, so its errors are negative: FreeRDP writes them
    // so, and Wireshark's CredSSP dissector reads them so. Written as unsigned they take five
    // octets; both forms mean the same 32 bits.
    if (*value < std::numeric_limits<int32_t>::min() ||
        *value > std::numeric_limits<uint32_t>::max())
        return Error{kErrorCode, std::to_string(*value) + " is no 32-bit status"};
    return std::optional<uint32_t>(uint32_t(*value));
}

Status check_nonce(const std::optional<Bytes>& nonce) {
    if (!nonce || nonce->size() == kNonceSize) return Ok{};
    return Error{kClientNonce, "expected " + std::to_string(kNonceSize) + " bytes, got " +
                                   std::to_string(nonce->size())};
}

void write_octet_string_field(ber::DerWriter& w, uint8_t n, ByteView value) {
    w.begin(context(n));
    w.octet_string(value);
    w.end();
}

void write_integer_field(ber::DerWriter& w, uint8_t n, int64_t value) {
    w.begin(context(n));
    w.integer(value);
    w.end();
}

Result<DelegatedCredentials> decode_password_creds(ByteView encoded) {
    auto fields = read_whole(encoded, ber::kSequence, kPasswordCreds);
    if (!fields) return fields.error();
    Reader r(*fields);
    auto domain = read_octet_string_field(r, 0, kDomainName);
    if (!domain) return domain.error();
    auto user = read_octet_string_field(r, 1, kUserName);
    if (!user) return user.error();
    auto password = read_octet_string_field(r, 2, kPassword);
    if (!password) return password.error();
    if (auto s = nothing_left(r, kPasswordCreds); !s) return s.error();

    if (domain->empty() && user->empty() && password->empty())
        return DelegatedCredentials{NoPassword::restricted_admin};
    if (password->size() % 2 != 0)
        return Error{kPassword, "UTF-16LE text of an odd number of bytes"};
    auto domain_utf8 = utf16le_to_utf8(*domain, kDomainName);
    if (!domain_utf8) return domain_utf8.error();
    auto user_utf8 = utf16le_to_utf8(*user, kUserName);
    if (!user_utf8) return user_utf8.error();
    return DelegatedCredentials{
        PasswordCredentials{std::move(*domain_utf8), std::move(*user_utf8), Secret(*password)}};
}

// The binding hashes' magic strings, hashed with their terminating NUL ([MS-CSSP] 3.1.5).
constexpr char kClientToServerMagic[] = "CredSSP Client-To-Server Binding Hash";
constexpr char kServerToClientMagic[] = "CredSSP Server-To-Client Binding Hash";

template <std::size_t N>
Result<Bytes> binding_hash(const char (&magic)[N], ByteView public_key, ByteView client_nonce) {
    const ByteView magic_with_nul(reinterpret_cast<const uint8_t*>(magic), N);
    const auto hash = crypto::sha256({magic_with_nul, client_nonce, public_key});
    if (!hash) return hash.error();
    return Bytes(hash->begin(), hash->end());
}

struct StatusName {
    uint32_t code;
    std::string_view name;
};

// The SSPI SEC_E_* statuses FreeRDP names (winpr/sspi.h, as in Windows' winerror.h), then the
// NTSTATUS values a server reports for a logon it refuses: those FreeRDP's client turns into
// errors of its own, and their kin from ntstatus.h. Sorted by code, as the lookup needs.
constexpr std::array kStatusNames = {
    StatusName{0x80090300, "SEC_E_INSUFFICIENT_MEMORY"},
    StatusName{0x80090302, "SEC_E_UNSUPPORTED_FUNCTION"},
    StatusName{0x80090303, "SEC_E_TARGET_UNKNOWN"},
    StatusName{0x80090304, "SEC_E_INTERNAL_ERROR"},
    StatusName{0x80090305, "SEC_E_SECPKG_NOT_FOUND"},
    StatusName{0x80090308, "SEC_E_INVALID_TOKEN"},
    StatusName{0x8009030C, "SEC_E_LOGON_DENIED"},
    StatusName{0x8009030D, "SEC_E_UNKNOWN_CREDENTIALS"},
    StatusName{0x8009030E, "SEC_E_NO_CREDENTIALS"},
    StatusName{0x8009030F, "SEC_E_MESSAGE_ALTERED"},
    StatusName{0x80090310, "SEC_E_OUT_OF_SEQUENCE"},
    StatusName{0x80090311, "SEC_E_NO_AUTHENTICATING_AUTHORITY"},
    StatusName{0x80090317, "SEC_E_CONTEXT_EXPIRED"},
    StatusName{0x80090322, "SEC_E_WRONG_PRINCIPAL"},
    StatusName{0x80090324, "SEC_E_TIME_SKEW"},
    StatusName{0x80090326, "SEC_E_ILLEGAL_MESSAGE"},
    StatusName{0x80090330, "SEC_E_DECRYPT_FAILURE"},
    StatusName{0x80090331, "SEC_E_ALGORITHM_MISMATCH"},
    StatusName{0x80090342, "SEC_E_KDC_UNKNOWN_ETYPE"},
    StatusName{0x80090345, "SEC_E_DELEGATION_REQUIRED"},
    StatusName{0x80090346, "SEC_E_BAD_BINDINGS"},
    StatusName{0x80090350, "SEC_E_DOWNGRADE_DETECTED"},
    StatusName{0x80090363, "SEC_E_MUTUAL_AUTH_FAILED"},
    StatusName{0xC0000022, "STATUS_ACCESS_DENIED"},
    StatusName{0xC000005E, "STATUS_NO_LOGON_SERVERS"},
    StatusName{0xC0000064, "STATUS_NO_SUCH_USER"},
    StatusName{0xC000006A, "STATUS_WRONG_PASSWORD"},
    StatusName{0xC000006D, "STATUS_LOGON_FAILURE"},
    StatusName{0xC000006E, "STATUS_ACCOUNT_RESTRICTION"},
    StatusName{0xC000006F, "STATUS_INVALID_LOGON_HOURS"},
    StatusName{0xC0000070, "STATUS_INVALID_WORKSTATION"},
    StatusName{0xC0000071, "STATUS_PASSWORD_EXPIRED"},
    StatusName{0xC0000072, "STATUS_ACCOUNT_DISABLED"},
    StatusName{0xC0000133, "STATUS_TIME_DIFFERENCE_AT_DC"},
    StatusName{0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED"},
    StatusName{0xC0000193, "STATUS_ACCOUNT_EXPIRED"},
    StatusName{0xC0000224, "STATUS_PASSWORD_MUST_CHANGE"},
    StatusName{0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT"},
    StatusName{0xC0000388, "STATUS_DOWNGRADE_DETECTED"},
    StatusName{0xC0000413, "STATUS_AUTHENTICATION_FIREWALL_FAILED"},
};
static_assert(std::is_sorted(kStatusNames.begin(), kStatusNames.end(),
                             [](const StatusName& a, const StatusName& b) {
                                 return a.code < b.code;
                             }));

// NTSTATUS_FROM_WIN32: severity error, facility NTWIN32 (7), the Win32 code below.
constexpr uint32_t kWin32AsNtstatus = 0xC0070000;

}  // namespace

Result<TsRequest> decode_ts_request(ByteView pdu) {
    if (pdu.size() > kMaxTsRequestSize)
        return Error{kTsRequest, std::to_string(pdu.size()) + " bytes, more than the " +
                                     std::to_string(kMaxTsRequestSize) + " a TSRequest may have"};
    auto fields = read_whole(pdu, ber::kSequence, kTsRequest);
    if (!fields) return fields.error();
    Reader r(*fields);
    TsRequest out;

    auto version = read_integer_field(r, 0, kVersionField);
    if (!version) return version.error();
    if (*version < 0 || *version > std::numeric_limits<uint32_t>::max())
        return Error{kVersionField, std::to_string(*version) + " is no version number"};
    out.version = uint32_t(*version);

    if (ber::next_is(r, context(1))) {
        auto tokens = read_nego_tokens(r);
        if (!tokens) return tokens.error();
        out.nego_tokens = std::move(*tokens);
    }
    auto auth_info = read_optional_octet_string(r, 2, kAuthInfo);
    if (!auth_info) return auth_info.error();
    out.auth_info = std::move(*auth_info);
    auto pub_key_auth = read_optional_octet_string(r, 3, kPubKeyAuth);
    if (!pub_key_auth) return pub_key_auth.error();
    out.pub_key_auth = std::move(*pub_key_auth);
    auto error_code = read_error_code(r);
    if (!error_code) return error_code.error();
    out.error_code = *error_code;
    auto nonce = read_optional_octet_string(r, 5, kClientNonce);
    if (!nonce) return nonce.error();
    if (auto s = check_nonce(*nonce); !s) return s.error();
    out.client_nonce = std::move(*nonce);

    if (!r.empty())
        return Error{kTsRequest, "unexpected field 0x" + hex(r.rest().first(1)) +
                                     " (unknown, repeated or out of order)"};
    return out;
}

Result<Bytes> encode(const TsRequest& request) {
    if (auto s = check_nonce(request.client_nonce); !s) return s.error();
    Bytes out;
    ber::DerWriter w(out);
    w.begin(ber::kSequence);
    write_integer_field(w, 0, request.version);
    if (!request.nego_tokens.empty()) {
        w.begin(context(1));
        w.begin(ber::kSequence);
        for (const Bytes& token : request.nego_tokens) {
            w.begin(ber::kSequence);
            write_octet_string_field(w, 0, token);
            w.end();
        }
        w.end();
        w.end();
    }
    if (request.auth_info) write_octet_string_field(w, 2, *request.auth_info);
    if (request.pub_key_auth) write_octet_string_field(w, 3, *request.pub_key_auth);
    // Signed, as NTSTATUS is: an error becomes a negative 4-octet INTEGER.
    if (request.error_code) write_integer_field(w, 4, int32_t(*request.error_code));
    if (request.client_nonce) write_octet_string_field(w, 5, *request.client_nonce);
    w.end();
    if (out.size() > kMaxTsRequestSize)
        return Error{kTsRequest, "encodes to " + std::to_string(out.size()) +
                                     " bytes, more than the " + std::to_string(kMaxTsRequestSize) +
                                     " a peer accepts"};
    return out;
}

Result<std::optional<std::size_t>> complete_ts_request_size(ByteView buffered) {
    using Size = std::optional<std::size_t>;
    if (buffered.empty()) return Size{};
    if (buffered[0] != ber::kSequence)
        return Error{kTsRequest, "expected a DER SEQUENCE (0x30), got 0x" + hex(buffered.first(1))};
    if (buffered.size() < 2) return Size{};
    // The short form, or 0x81 / 0x82 and that many length octets; ber::read_header refuses
    // anything longer at once (such a TSRequest would exceed kMaxTsRequestSize anyway).
    const uint8_t form = buffered[1];
    const std::size_t header_size = form & 0x80 ? 2 + (form & 0x7F) : 2;
    if (header_size <= 4 && buffered.size() < header_size) return Size{};
    Reader r(buffered);
    auto header = ber::read_header(r, ber::kSequence, kTsRequest);
    if (!header) return header.error();
    const std::size_t size = r.position() + header->length;
    if (size > kMaxTsRequestSize)
        return Error{kTsRequest, "announces " + std::to_string(size) + " bytes, more than the " +
                                     std::to_string(kMaxTsRequestSize) + " a TSRequest may have"};
    if (buffered.size() < size) return Size{};
    return Size{size};
}

std::string_view to_string(NoPassword kind) {
    switch (kind) {
        case NoPassword::restricted_admin:
            return "Restricted Admin mode (empty TSPasswordCreds)";
        case NoPassword::smart_card:
            return "smart-card logon (TSSmartCardCreds)";
        case NoPassword::remote_credential_guard:
            return "Remote Credential Guard (TSRemoteGuardCreds)";
    }
    return "unknown";
}

Result<DelegatedCredentials> decode_ts_credentials(ByteView plaintext) {
    auto fields = read_whole(plaintext, ber::kSequence, kTsCredentials);
    if (!fields) return fields.error();
    Reader r(*fields);
    auto type = read_integer_field(r, 0, kCredType);
    if (!type) return type.error();
    auto credentials = read_octet_string_field(r, 1, kCredentials);
    if (!credentials) return credentials.error();
    if (auto s = nothing_left(r, kTsCredentials); !s) return s.error();
    switch (*type) {
        case kPasswordCredType:
            return decode_password_creds(*credentials);
        case kSmartCardCredType:
            return DelegatedCredentials{NoPassword::smart_card};
        case kRemoteGuardCredType:
            return DelegatedCredentials{NoPassword::remote_credential_guard};
        default:
            return Error{kCredType, "unknown credential type " + std::to_string(*type)};
    }
}

Result<Secret> encode_ts_credentials(const PasswordCredentials& credentials) {
    auto domain = utf8_to_utf16le(credentials.domain, kDomainName);
    if (!domain) return domain.error();
    auto user = utf8_to_utf16le(credentials.user, kUserName);
    if (!user) return user.error();
    const ByteView password = credentials.password.view();
    if (password.size() % 2 != 0)
        return Error{kPassword, "UTF-16LE text of an odd number of bytes"};

    // Reserved once, so that DerWriter never moves the password: twelve TLV headers of at most
    // six octets each (tag, 0x84, four length octets) and the credType's one content octet.
    constexpr std::size_t kOverhead = 12 * 6 + 1;
    Bytes out;
    out.reserve(domain->size() + user->size() + password.size() + kOverhead);
    ber::DerWriter w(out);
    w.begin(ber::kSequence);
    write_integer_field(w, 0, kPasswordCredType);
    w.begin(context(1));
    w.begin(ber::kOctetString);
    w.begin(ber::kSequence);
    write_octet_string_field(w, 0, *domain);
    write_octet_string_field(w, 1, *user);
    write_octet_string_field(w, 2, password);
    w.end();
    w.end();
    w.end();
    w.end();
    return Secret(std::move(out));
}

Result<Secret> password_to_utf8(const Secret& utf16le) {
    Bytes out;
    if (auto s = append_utf16le_as_utf8(utf16le.view(), out, kPassword); !s) {
        crypto::cleanse(out.data(), out.size());
        return s.error();
    }
    return Secret(std::move(out));
}

Result<Secret> password_from_utf8(std::string_view utf8) {
    Bytes out;
    const ByteView bytes(reinterpret_cast<const uint8_t*>(utf8.data()), utf8.size());
    if (auto s = append_utf8_as_utf16le(bytes, out, kPassword); !s) {
        crypto::cleanse(out.data(), out.size());
        return s.error();
    }
    return Secret(std::move(out));
}

Result<Bytes> client_binding(uint32_t version, ByteView public_key, ByteView client_nonce) {
    if (version < kFirstVersionWithNonce) return Bytes(public_key.begin(), public_key.end());
    return binding_hash(kClientToServerMagic, public_key, client_nonce);
}

Result<Bytes> server_binding(uint32_t version, ByteView public_key, ByteView client_nonce) {
    if (version >= kFirstVersionWithNonce)
        return binding_hash(kServerToClientMagic, public_key, client_nonce);
    Bytes echo(public_key.begin(), public_key.end());
    if (!echo.empty()) ++echo[0];  // wraps at 0xFF, as a byte does
    return echo;
}

std::optional<std::string_view> error_code_name(uint32_t code) {
    const auto it = std::lower_bound(kStatusNames.begin(), kStatusNames.end(), code,
                                     [](const StatusName& s, uint32_t c) { return s.code < c; });
    if (it == kStatusNames.end() || it->code != code) return std::nullopt;
    return it->name;
}

std::string error_code_to_string(uint32_t code) {
    if (auto name = error_code_name(code)) return std::string(*name) + " (" + hex32(code) + ")";
    if ((code & 0xFFFF0000) == kWin32AsNtstatus)
        return "Win32 error " + std::to_string(code & 0xFFFF) + " as NTSTATUS (" + hex32(code) +
               ")";
    return "unknown status " + hex32(code);
}

Bytes encode(EarlyUserAuthResult result) {
    Bytes out;
    Writer(out).u32le(uint32_t(result));
    return out;
}

Result<EarlyUserAuthResult> decode_early_user_auth_result(ByteView bytes) {
    if (bytes.size() != kEarlyUserAuthResultSize)
        return Error{kEarlyUserAuth, "expected " + std::to_string(kEarlyUserAuthResultSize) +
                                         " bytes, got " + std::to_string(bytes.size())};
    const uint32_t value = load_u32le(bytes.data());
    switch (value) {
        case uint32_t(EarlyUserAuthResult::granted):
            return EarlyUserAuthResult::granted;
        case uint32_t(EarlyUserAuthResult::denied):
            return EarlyUserAuthResult::denied;
        default:
            return Error{kEarlyUserAuth, "unknown result " + hex32(value)};
    }
}

}  // namespace rdpbridge::rdp::credssp
