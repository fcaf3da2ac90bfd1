// CredSSP ([MS-CSSP]) as NLA runs it right after the TLS handshake, the wire format only: the
// DER TSRequest and how to cut it from the TLS stream, the TSCredentials a client delegates,
// the values that bind a run to the server's public key, the errorCode a server may send, and
// the Early User Authorization Result of PROTOCOL_HYBRID_EX. The security package (NTLM,
// Kerberos, through GSSAPI) lives elsewhere: its tokens and sealed fields are opaque bytes here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rdp/bytes.hpp"
#include "rdp/secret.hpp"

namespace rdpbridge::rdp::credssp {

// The newest version ([MS-CSSP] 2.2.1), the one we announce. Each side then follows the
// smaller of its own and its peer's: version 3 brought errorCode, version 5 the client nonce
// and the hashed public-key binding.
inline constexpr uint32_t kVersion = 6;
inline constexpr uint32_t kFirstVersionWithNonce = 5;
inline constexpr std::size_t kNonceSize = 32;

// The largest TSRequest we read or write. Its size is that of one security token, and the
// largest tokens are Kerberos tickets with their PAC: Windows caps them with MaxTokenSize,
// 48,000 bytes by default since Windows 8 / Server 2012, and Microsoft advises against more.
// A peer announcing more is refused from the header alone, before we buffer its body; 64 KiB
// also keeps every DER length within the two octets our reader (and FreeRDP 2's) takes.
inline constexpr std::size_t kMaxTsRequestSize = 64 * 1024;

struct TsRequest {
    uint32_t version = kVersion;
    std::vector<Bytes> nego_tokens;      // SPNEGO, NTLM or Kerberos tokens; in practice one
    std::optional<Bytes> auth_info;      // the sealed TSCredentials
    std::optional<Bytes> pub_key_auth;   // the sealed binding value (client_binding)
    std::optional<uint32_t> error_code;  // an NTSTATUS, version 3+ (error_code_to_string)
    std::optional<Bytes> client_nonce;   // kNonceSize random bytes, version 5+
};

// One whole TSRequest, nothing before or after it. Lenient where real peers stray from DER
// (non-minimal lengths and INTEGERs; errorCode as a negative 4-octet or positive 5-octet
// INTEGER), strict about the structure: fields in order and at most once, nothing left over
// inside a field or after the PDU, an empty negoTokens refused, a nonce of kNonceSize bytes.
// Which fields a version or a step allows is the caller's business: FreeRDP 2.11, for one,
// repeats its nonce in every TSRequest and its server sends one too.
Result<TsRequest> decode_ts_request(ByteView pdu);
// Canonical DER, errorCode as a signed 32-bit INTEGER (4 octets for an NTSTATUS error), as
// FreeRDP writes it and reads it back. Fails for what decode_ts_request would refuse: a nonce of
// another size or a PDU over kMaxTsRequestSize.
Result<Bytes> encode(const TsRequest& request);

// TSRequests travel over TLS without TPKT; the outer DER SEQUENCE header tells their size.
// nullopt: the TSRequest at the start of `buffered` is not complete yet, read more. N: its N
// bytes are all there. Error: the bytes cannot start a TSRequest, or announce one larger than
// kMaxTsRequestSize (known from the header, before the body arrives).
Result<std::optional<std::size_t>> complete_ts_request_size(ByteView buffered);

// ----------------------------------------------------------------------------- TSCredentials

// credType 1 ([MS-CSSP] 2.2.1.2.1). The password is the client's plaintext password: it is
// held in a Secret, wiped when dropped, and must never be logged.
struct PasswordCredentials {
    std::string domain;  // UTF-8 here, UTF-16LE on the wire
    std::string user;
    Secret password;  // UTF-16LE exactly as on the wire (password_to_utf8 converts it)
};

// Clients that delegate no password: Restricted Admin mode (credType 1 with every field empty,
// [MS-RDPBCGR] 2.2.1.1.1), smart-card logon (credType 2, whose PIN and card details are not
// kept) and Remote Credential Guard (credType 6). A bridge that needs a password for the host
// has to say so.
enum class NoPassword { restricted_admin, smart_card, remote_credential_guard };
std::string_view to_string(NoPassword kind);

using DelegatedCredentials = std::variant<PasswordCredentials, NoPassword>;

// `plaintext` is the client's authInfo once unsealed by the security package. The password is
// copied into the result's Secret; wiping `plaintext` stays the caller's job.
Result<DelegatedCredentials> decode_ts_credentials(ByteView plaintext);
// The TSCredentials to seal for a host. A Secret, since it holds the password in clear. Fails
// for names that are not valid UTF-8 and for a password of an odd number of bytes.
Result<Secret> encode_ts_credentials(const PasswordCredentials& credentials);

// The password in UTF-8, what gss_acquire_cred_with_password takes, and back; each a Secret.
Result<Secret> password_to_utf8(const Secret& utf16le);
Result<Secret> password_from_utf8(std::string_view utf8);

// ----------------------------------------------------------------------------- binding

// What a client seals into pubKeyAuth, and what it expects the server to seal back
// ([MS-CSSP] 3.1.5), for `version`, the smaller of the two sides' versions. Before version 5
// the public key itself, answered by the key with its first byte incremented; from version 5
// SHA-256 over "CredSSP Client-To-Server Binding Hash\0" (server: "Server-To-Client") followed
// by the client nonce and the public key. `public_key` is the subjectPublicKey of the server's
// TLS certificate (crypto::x509_subject_public_key). An error when OpenSSL cannot compute
// SHA-256.
Result<Bytes> client_binding(uint32_t version, ByteView public_key, ByteView client_nonce);
Result<Bytes> server_binding(uint32_t version, ByteView public_key, ByteView client_nonce);

// ----------------------------------------------------------------------------- errorCode

// The name of an errorCode: an NTSTATUS ("STATUS_LOGON_FAILURE"), or an SSPI SEC_E_* status,
// which some servers send instead. nullopt for any other value.
std::optional<std::string_view> error_code_name(uint32_t code);
// "STATUS_LOGON_FAILURE (0xc000006d)"; "Win32 error 1326 as NTSTATUS (0xc007052e)", the form
// FreeRDP's server uses (NTSTATUS_FROM_WIN32); else "unknown status 0x...".
std::string error_code_to_string(uint32_t code);

// ----------------------------------------------------------------------------- HYBRID_EX

// After CredSSP under PROTOCOL_HYBRID_EX the server sends this 4-byte little-endian result
// ([MS-RDPBCGR] 2.2.10.2) before the client's MCS Connect Initial.
enum class EarlyUserAuthResult : uint32_t { granted = 0x00000000, denied = 0x00000005 };
inline constexpr std::size_t kEarlyUserAuthResultSize = 4;

Bytes encode(EarlyUserAuthResult result);
// Exactly kEarlyUserAuthResultSize bytes holding one of the two values.
Result<EarlyUserAuthResult> decode_early_user_auth_result(ByteView bytes);

}  // namespace rdpbridge::rdp::credssp
