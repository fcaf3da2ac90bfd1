#include "proxy/nla/gss.hpp"

#include <algorithm>
#include <cctype>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
// com_err.h has no extern "C" of its own; krb5.h (error codes) includes it again, guarded.
extern "C" {
#include <et/com_err.h>
}
#include <krb5/krb5.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "rdp/crypto.hpp"
#include "rdp/gss_token.hpp"
#include "rdp/ntlmssp.hpp"

namespace rdpbridge::nla {
namespace {

// ------------------------------------------------------------------------------ OIDs

// GSSAPI's view of rdp/gss_token.hpp's OID bytes; the library only reads them.
gss_OID_desc oid_desc(ByteView bytes) {
    return {static_cast<OM_uint32>(bytes.size()),
            const_cast<void*>(static_cast<const void*>(bytes.data()))};
}
gss_OID_desc kNtlmOid = oid_desc(rdp::gss::kNtlmOid);
gss_OID_desc kSpnegoOid = oid_desc(rdp::gss::kSpnegoOid);
gss_OID_desc kKrb5Oid = oid_desc(rdp::gss::kKrb5Oid);

ByteView oid_bytes(const gss_OID_desc* oid) {
    if (oid == nullptr || oid->elements == nullptr) return {};
    return {static_cast<const uint8_t*>(oid->elements), oid->length};
}

constexpr OM_uint32 kContextFlags = GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG | GSS_C_MUTUAL_FLAG |
                                    GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG;

constexpr std::string_view kInstallNtlm =
    "gss-ntlmssp is not installed (no NTLM mechanism 1.3.6.1.4.1.311.2.2.10 registered in "
    "/etc/gss/mech.d): apt-get install gss-ntlmssp";

// ------------------------------------------------------------------------------ RAII handles

// A buffer the GSSAPI library allocated. One that may hold a secret (gss_unwrap's plaintext is
// the client's TSCredentials, its password) is wiped before the library frees it.
class Buffer {
  public:
    enum class Holds { data, secret };
    explicit Buffer(Holds holds = Holds::data) : secret_(holds == Holds::secret) {}
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() {
        if (secret_ && buf_.value != nullptr) rdp::crypto::cleanse(buf_.value, buf_.length);
        OM_uint32 minor = 0;
        gss_release_buffer(&minor, &buf_);
    }
    gss_buffer_t get() { return &buf_; }
    std::string_view text() const {
        return {static_cast<const char*>(buf_.value), buf_.value ? buf_.length : 0};
    }
    Bytes bytes() const {
        const auto* p = static_cast<const uint8_t*>(buf_.value);
        return p ? Bytes(p, p + buf_.length) : Bytes{};
    }

  private:
    gss_buffer_desc buf_{0, nullptr};
    bool secret_ = false;
};

class Name {
  public:
    Name() = default;
    Name(const Name&) = delete;
    Name& operator=(const Name&) = delete;
    ~Name() { reset(); }
    void reset() {
        OM_uint32 minor = 0;
        if (name_ != GSS_C_NO_NAME) gss_release_name(&minor, &name_);
    }
    gss_name_t get() const { return name_; }
    gss_name_t* out() {
        reset();
        return &name_;
    }

  private:
    gss_name_t name_ = GSS_C_NO_NAME;
};

class Credential {
  public:
    Credential() = default;
    Credential(const Credential&) = delete;
    Credential& operator=(const Credential&) = delete;
    ~Credential() { reset(); }
    void reset() {
        OM_uint32 minor = 0;
        if (cred_ != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &cred_);
    }
    gss_cred_id_t get() const { return cred_; }
    gss_cred_id_t* out() {
        reset();
        return &cred_;
    }

  private:
    gss_cred_id_t cred_ = GSS_C_NO_CREDENTIAL;
};

// gss_buffer_desc over bytes we own (the library only reads it).
gss_buffer_desc view(ByteView bytes) {
    return {bytes.size(), const_cast<uint8_t*>(bytes.data())};
}
gss_buffer_desc view(std::string_view text) {
    return {text.size(), const_cast<char*>(text.data())};
}

// ------------------------------------------------------------------------------ errors

std::string status_text(OM_uint32 code, int type) {
    std::string out;
    OM_uint32 message_context = 0;
    do {
        OM_uint32 minor = 0;
        Buffer text;
        if (GSS_ERROR(
                gss_display_status(&minor, code, type, GSS_C_NO_OID, &message_context, text.get())))
            break;
        if (!out.empty()) out += "; ";
        out += text.text();
    } while (message_context != 0);
    return out;
}

std::string errno_text(int err) {
    char buf[256];
    // GNU strerror_r, as gss-ntlmssp uses for its errno-valued minor codes.
    return strerror_r(err, buf, sizeof buf);
}

// The minor code's text decides: the mechglue renumbers minor codes per process (a SPNEGO
// failure never shows gss-ntlmssp's own number), but displaying the renumbered code asks the
// mechanism that raised it. gss-ntlmssp 1.2.0, tried: wrong password -> GSS_S_FAILURE with
// EINVAL ("Invalid argument", from its NTLMv2 response check); user not in the users file ->
// GSS_S_FAILURE with ENOENT ("No such file or directory", its users-file lookup); an empty user
// name -> ERR_NOUSRFOUND "User not found". Its own texts are not translated (Debian ships no
// catalogue); errno texts follow the locale, which strerror_r here follows too.
std::optional<Failure> classify_minor(std::string_view text, bool ntlm_acceptor_verdict) {
    if (text.empty()) return std::nullopt;
    if (text == "User not found") return Failure::unknown_user;
    if (text == "Expired") return Failure::expired;
    if (ntlm_acceptor_verdict && text == errno_text(ENOENT)) return Failure::unknown_user;
    if (ntlm_acceptor_verdict && text == errno_text(EINVAL)) return Failure::bad_credentials;
    // Kerberos (com_err texts; untested here: no KDC in unit tests).
    struct {
        krb5_error_code code;
        Failure failure;
    } const krb5_codes[] = {
        {KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN, Failure::unknown_user},
        {KRB5KDC_ERR_PREAUTH_FAILED, Failure::bad_credentials},
        {KRB5KDC_ERR_KEY_EXP, Failure::expired},
        {KRB5KRB_AP_ERR_TKT_EXPIRED, Failure::expired},
    };
    for (const auto& k : krb5_codes)
        if (text == error_message(k.code)) return k.failure;
    return std::nullopt;
}

Failure classify(OM_uint32 major, std::string_view minor_text, bool ntlm_acceptor_verdict) {
    switch (GSS_ROUTINE_ERROR(major)) {
        case GSS_S_BAD_MECH:
            return Failure::mechanism_unavailable;
        case GSS_S_DEFECTIVE_TOKEN:
        case GSS_S_BAD_SIG:  // == GSS_S_BAD_MIC: a sealed message that fails its check
            return Failure::malformed_token;
        case GSS_S_CREDENTIALS_EXPIRED:
        case GSS_S_CONTEXT_EXPIRED:
            return Failure::expired;
        default:
            break;
    }
    return classify_minor(minor_text, ntlm_acceptor_verdict).value_or(Failure::other);
}

// ntlm_acceptor_verdict: the call was gss_accept_sec_context, where gss-ntlmssp's errno-valued
// minor codes are its verdict on the client (elsewhere EINVAL is just EINVAL: the NTLM initiator
// never learns whether its password was right, and it fails with EINVAL when the acceptor's
// MsvAvTargetName is not the target it asked for).
GssError gss_error(std::string operation, OM_uint32 major, OM_uint32 minor,
                   bool ntlm_acceptor_verdict = false, std::string detail = {}) {
    GssError e;
    e.operation = std::move(operation);
    e.major = major;
    e.minor = minor;
    e.major_text = status_text(major, GSS_C_GSS_CODE);
    if (minor != 0) e.minor_text = status_text(minor, GSS_C_MECH_CODE);
    e.failure = classify(major, e.minor_text, ntlm_acceptor_verdict);
    e.detail = std::move(detail);
    return e;
}

GssError own_error(std::string operation, Failure failure, std::string detail) {
    GssError e;
    e.operation = std::move(operation);
    e.failure = failure;
    e.detail = std::move(detail);
    return e;
}

Result<gss_name_t> import_name(Name& name, std::string_view text, gss_OID type) {
    OM_uint32 minor = 0;
    gss_buffer_desc buf = view(text);
    OM_uint32 major = gss_import_name(&minor, &buf, type, name.out());
    if (GSS_ERROR(major))
        return gss_error("gss_import_name", major, minor, false,
                         "name \"" + std::string(text) + "\"");
    return name.get();
}

// The first token of a context, seen by the acceptor: raw NTLMSSP, or an RFC 2743 token that
// must be SPNEGO's.
Result<Framing> detect_framing(ByteView token) {
    const std::string op = "first token";
    auto first = rdp::gss::classify_first_token(token);
    if (!first) return own_error(op, Failure::malformed_token, first.error().message());
    if (first->framing == rdp::gss::Framing::raw_ntlmssp) return Framing::raw_ntlm;
    switch (first->mechanism) {
        case rdp::gss::Mechanism::spnego:
            return Framing::spnego;
        case rdp::gss::Mechanism::kerberos:
            return own_error(op, Failure::malformed_token,
                             "a bare Kerberos token: Kerberos is accepted inside SPNEGO only");
        default:
            return own_error(
                op, Failure::malformed_token,
                "a GSS-API token for mechanism " + rdp::hex(first->oid) + ", not SPNEGO");
    }
}

Mechanism mechanism_of(const gss_OID_desc* oid) {
    switch (rdp::gss::mechanism_of(oid_bytes(oid))) {
        case rdp::gss::Mechanism::ntlm:
            return Mechanism::ntlm;
        case rdp::gss::Mechanism::kerberos:
            return Mechanism::kerberos;
        default:
            return Mechanism::other;
    }
}

PeerName split_name(std::string_view display, Mechanism mech) {
    PeerName name;
    if (mech == Mechanism::kerberos) {  // user@REALM
        auto at = display.rfind('@');
        if (at == std::string_view::npos) {
            name.user = display;
        } else {
            name.user = display.substr(0, at);
            name.domain = display.substr(at + 1);
        }
        return name;
    }
    auto sep = display.find('\\');  // DOMAIN\user, or user when the client sent no domain
    if (sep == std::string_view::npos) {
        name.user = display;
    } else {
        name.domain = display.substr(0, sep);
        name.user = display.substr(sep + 1);
    }
    return name;
}

Status check_readable(const std::string& path, std::string_view what) {
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (!f) {
        int err = errno;
        return own_error("open " + std::string(what), Failure::other,
                         path + ": " + errno_text(err));
    }
    std::fclose(f);
    return Ok{};
}

}  // namespace

// ------------------------------------------------------------------------------ public helpers

std::string_view to_string(Failure f) {
    switch (f) {
        case Failure::bad_credentials:
            return "bad_credentials";
        case Failure::unknown_user:
            return "unknown_user";
        case Failure::expired:
            return "expired";
        case Failure::mechanism_unavailable:
            return "mechanism_unavailable";
        case Failure::malformed_token:
            return "malformed_token";
        case Failure::other:
            return "other";
    }
    return "other";
}

std::string_view to_string(Framing f) {
    return f == Framing::spnego ? "spnego" : "raw_ntlm";
}

std::string_view to_string(Mechanism m) {
    switch (m) {
        case Mechanism::ntlm:
            return "ntlm";
        case Mechanism::kerberos:
            return "kerberos";
        case Mechanism::other:
            return "other";
    }
    return "other";
}

std::string GssError::message() const {
    std::string out = operation + ": ";
    if (!detail.empty()) out += detail;
    if (major != 0) {
        char code[16];
        if (!detail.empty()) out += "; ";
        std::snprintf(code, sizeof code, "0x%x", major);
        out += major_text + " (major " + code + ")";
        if (minor != 0) {
            std::snprintf(code, sizeof code, "0x%x", minor);
            out += "; " + (minor_text.empty() ? std::string("?") : minor_text) + " (minor " + code +
                   ")";
        }
    }
    out += " [";
    out += to_string(failure);
    out += "]";
    return out;
}

Status check_ntlm_available() {
    OM_uint32 minor = 0;
    gss_OID_set mechs = GSS_C_NO_OID_SET;
    OM_uint32 major = gss_indicate_mechs(&minor, &mechs);
    if (GSS_ERROR(major)) return gss_error("gss_indicate_mechs", major, minor);
    bool found = false;
    for (std::size_t i = 0; i < mechs->count; ++i)
        found = found || mechanism_of(&mechs->elements[i]) == Mechanism::ntlm;
    gss_release_oid_set(&minor, &mechs);
    if (!found)
        return own_error("check NTLM mechanism", Failure::mechanism_unavailable,
                         std::string(kInstallNtlm));
    return Ok{};
}

// ------------------------------------------------------------------------------ Context

// The handles of one security context and what wrap/unwrap need; shared by both sides.
class Context {
  public:
    Context() = default;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context() {
        OM_uint32 minor = 0;
        if (handle != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &handle, GSS_C_NO_BUFFER);
    }

    Result<Bytes> wrap(ByteView plaintext) {
        if (!established)
            return own_error("gss_wrap", Failure::other, "the context is not established");
        OM_uint32 minor = 0;
        int conf_state = 0;
        gss_buffer_desc in = view(plaintext);
        Buffer out;
        OM_uint32 major = gss_wrap(&minor, handle, /*conf_req_flag=*/1, GSS_C_QOP_DEFAULT, &in,
                                   &conf_state, out.get());
        if (GSS_ERROR(major)) return gss_error("gss_wrap", major, minor);
        if (!conf_state)
            return own_error("gss_wrap", Failure::other,
                             "the mechanism did not encrypt (conf_state 0); CredSSP needs it");
        return out.bytes();
    }

    Result<Bytes> unwrap(ByteView sealed) {
        if (!established)
            return own_error("gss_unwrap", Failure::other, "the context is not established");
        OM_uint32 minor = 0;
        int conf_state = 0;
        gss_buffer_desc in = view(sealed);
        Buffer out(Buffer::Holds::secret);
        OM_uint32 major = gss_unwrap(&minor, handle, &in, out.get(), &conf_state, nullptr);
        if (GSS_ERROR(major)) return gss_error("gss_unwrap", major, minor);
        if (!conf_state)
            return own_error("gss_unwrap", Failure::malformed_token,
                             "the message was signed but not encrypted (conf_state 0)");
        return out.bytes();
    }

    gss_ctx_id_t handle = GSS_C_NO_CONTEXT;
    Credential cred;
    Name target;  // initiator: the host's service name
    bool established = false;
    bool failed = false;
};

namespace {
// A moved-from side has no context; a failed one must not be stepped or used again.
Status usable(const Context* ctx, const char* operation) {
    if (ctx == nullptr) return own_error(operation, Failure::other, "moved-from object");
    if (ctx->failed)
        return own_error(operation, Failure::other, "the context failed in an earlier step");
    return Ok{};
}
}  // namespace

// ------------------------------------------------------------------------------ Acceptor

Acceptor::Acceptor(AcceptorConfig config)
    : config_(std::move(config)), ctx_(std::make_unique<Context>()) {}
Acceptor::Acceptor(Acceptor&&) noexcept = default;
Acceptor& Acceptor::operator=(Acceptor&&) noexcept = default;
Acceptor::~Acceptor() = default;

Result<Acceptor> Acceptor::create(AcceptorConfig config) {
    if (auto s = check_ntlm_available(); !s) return s.error();
    if (config.service.empty()) return own_error("acceptor", Failure::other, "empty service name");
    // Checked now, because later gss-ntlmssp reports a missing users file as ENOENT, the same
    // code as an unknown user.
    if (!config.users_file.empty())
        if (auto s = check_readable(config.users_file, "NTLM users file"); !s) return s.error();
    if (!config.keytab.empty())
        if (auto s = check_readable(config.keytab, "keytab"); !s) return s.error();
    return Acceptor(std::move(config));
}

bool Acceptor::established() const {
    return ctx_ && ctx_->established;
}
Framing Acceptor::framing() const {
    return framing_;
}
Mechanism Acceptor::mechanism() const {
    return mechanism_;
}
const PeerName& Acceptor::client() const {
    return client_;
}

Result<Step> Acceptor::step(ByteView token) {
    if (auto s = usable(ctx_.get(), "gss_accept_sec_context"); !s) return s.error();
    if (ctx_->established)
        return own_error("gss_accept_sec_context", Failure::other, "already established");

    if (ctx_->handle == GSS_C_NO_CONTEXT) {
        // First token: pick the framing, then acquire the credential for exactly that framing.
        auto detected = detect_framing(token);
        if (!detected) {
            ctx_->failed = true;
            return detected.error();
        }
        if (config_.framing != AcceptFraming::detect) {
            Framing wanted =
                config_.framing == AcceptFraming::spnego ? Framing::spnego : Framing::raw_ntlm;
            if (*detected != wanted) {
                ctx_->failed = true;
                return own_error("first token", Failure::malformed_token,
                                 "expected " + std::string(to_string(wanted)) + ", got " +
                                     std::string(to_string(*detected)));
            }
        }
        framing_ = *detected;

        Name service;
        if (auto r = import_name(service, config_.service, GSS_C_NT_HOSTBASED_SERVICE); !r) {
            ctx_->failed = true;
            return r.error();
        }
        bool spnego = framing_ == Framing::spnego;
        gss_OID_set_desc mechs{1, spnego ? &kSpnegoOid : &kNtlmOid};
        std::vector<gss_key_value_element_desc> store;
        if (!config_.users_file.empty())
            store.push_back({"ntlmssp_keyfile", config_.users_file.c_str()});
        if (spnego && !config_.keytab.empty()) store.push_back({"keytab", config_.keytab.c_str()});
        gss_key_value_set_desc store_set{static_cast<OM_uint32>(store.size()), store.data()};
        OM_uint32 minor = 0;
        OM_uint32 major = gss_acquire_cred_from(
            &minor, service.get(), GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
            store.empty() ? GSS_C_NO_CRED_STORE : &store_set, ctx_->cred.out(), nullptr, nullptr);
        if (GSS_ERROR(major)) {
            ctx_->failed = true;
            return gss_error("gss_acquire_cred_from (acceptor)", major, minor);
        }
        if (spnego) {
            // What SPNEGO may negotiate: NTLM, and Kerberos only with a configured keytab.
            gss_OID_desc neg[2] = {kNtlmOid, kKrb5Oid};
            gss_OID_set_desc neg_set{config_.keytab.empty() ? 1u : 2u, neg};
            major = gss_set_neg_mechs(&minor, ctx_->cred.get(), &neg_set);
            if (GSS_ERROR(major)) {
                ctx_->failed = true;
                return gss_error("gss_set_neg_mechs (acceptor)", major, minor);
            }
        }
    } else if (token.empty()) {
        ctx_->failed = true;
        return own_error("gss_accept_sec_context", Failure::malformed_token, "empty token");
    }

    OM_uint32 minor = 0;
    gss_buffer_desc in = view(token);
    Name source;
    gss_OID mech = GSS_C_NO_OID;
    OM_uint32 flags = 0;
    Buffer out;
    OM_uint32 major = gss_accept_sec_context(&minor, &ctx_->handle, ctx_->cred.get(), &in,
                                             GSS_C_NO_CHANNEL_BINDINGS, source.out(), &mech,
                                             out.get(), &flags, nullptr, nullptr);
    if (GSS_ERROR(major)) {
        ctx_->failed = true;
        return gss_error("gss_accept_sec_context", major, minor, /*ntlm_acceptor_verdict=*/true);
    }
    Step step{out.bytes(), !(major & GSS_S_CONTINUE_NEEDED)};
    if (step.done) {
        if (!(flags & GSS_C_CONF_FLAG)) {
            ctx_->failed = true;
            return own_error("gss_accept_sec_context", Failure::other,
                             "the client did not negotiate confidentiality (NTLM SEAL), which "
                             "CredSSP needs");
        }
        mechanism_ = mechanism_of(mech);
        Buffer display;
        major = gss_display_name(&minor, source.get(), display.get(), nullptr);
        if (GSS_ERROR(major)) {
            ctx_->failed = true;
            return gss_error("gss_display_name", major, minor);
        }
        // gss-ntlmssp counts the terminating NUL in the length.
        std::string_view text = display.text();
        if (!text.empty() && text.back() == '\0') text.remove_suffix(1);
        client_ = split_name(text, mechanism_);
        ctx_->established = true;
    }
    return step;
}

Result<Bytes> Acceptor::wrap(ByteView plaintext) {
    if (auto s = usable(ctx_.get(), "gss_wrap"); !s) return s.error();
    return ctx_->wrap(plaintext);
}
Result<Bytes> Acceptor::unwrap(ByteView sealed) {
    if (auto s = usable(ctx_.get(), "gss_unwrap"); !s) return s.error();
    return ctx_->unwrap(sealed);
}

// ------------------------------------------------------------------------------ Initiator

Initiator::Initiator(Framing framing) : framing_(framing), ctx_(std::make_unique<Context>()) {}
Initiator::Initiator(Initiator&&) noexcept = default;
Initiator& Initiator::operator=(Initiator&&) noexcept = default;
Initiator::~Initiator() = default;

Result<Initiator> Initiator::create(InitiatorConfig config) {
    if (auto s = check_ntlm_available(); !s) return s.error();
    const std::string op = "initiator";
    if (config.user.empty()) return own_error(op, Failure::other, "empty user name");
    if (config.user.find('\\') != std::string::npos ||
        config.domain.find_first_of("\\@") != std::string::npos)
        return own_error(op, Failure::other, "'\\' in the user name or '\\'/'@' in the domain");
    if (config.password.reveal().find('\0') != std::string_view::npos)
        return own_error(op, Failure::other, "the password contains a NUL character");
    if (config.target.empty()) return own_error(op, Failure::other, "empty target name");

    // gss-ntlmssp's user-name syntax: "DOMAIN\user"; without a domain a UPN's '@' is escaped
    // ("alice\@corp.example") so that it stays part of the user name, as Windows sends it.
    std::string principal;
    if (!config.domain.empty()) {
        principal = config.domain + "\\" + config.user;
    } else {
        for (char c : config.user) {
            if (c == '@') principal += '\\';
            principal += c;
        }
    }

    Initiator initiator(config.framing);
    Context& ctx = *initiator.ctx_;
    Name user;
    if (auto r = import_name(user, principal, GSS_C_NT_USER_NAME); !r) return r.error();
    if (auto r = import_name(ctx.target, config.target, GSS_C_NT_HOSTBASED_SERVICE); !r)
        return r.error();

    OM_uint32 minor = 0;
    OM_uint32 major = 0;
    if (config.framing == Framing::raw_ntlm) {
        gss_OID_set_desc mechs{1, &kNtlmOid};
        gss_buffer_desc password = view(config.password.reveal());  // NUL-terminated
        major =
            gss_acquire_cred_with_password(&minor, user.get(), &password, GSS_C_INDEFINITE, &mechs,
                                           GSS_C_INITIATE, ctx.cred.out(), nullptr, nullptr);
        if (GSS_ERROR(major)) return gss_error("gss_acquire_cred_with_password", major, minor);
    } else {
        // Not gss_acquire_cred_with_password: for SPNEGO it hands the password to every
        // mechanism, and krb5 then asks a KDC for "DOMAINuser@<default realm>" (tried: with a
        // krb5.conf present it sends an AS-REQ). gss-ntlmssp's own cred-store key reaches NTLM
        // only; SPNEGO is then restricted to NTLM.
        gss_OID_set_desc mechs{1, &kSpnegoOid};
        gss_key_value_element_desc element{"ntlmssp_password", config.password.reveal_c_str()};
        gss_key_value_set_desc store{1, &element};
        major = gss_acquire_cred_from(&minor, user.get(), GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                      &store, ctx.cred.out(), nullptr, nullptr);
        if (GSS_ERROR(major)) return gss_error("gss_acquire_cred_from (initiator)", major, minor);
        gss_OID_set_desc neg{1, &kNtlmOid};
        major = gss_set_neg_mechs(&minor, ctx.cred.get(), &neg);
        if (GSS_ERROR(major)) return gss_error("gss_set_neg_mechs (initiator)", major, minor);
    }
    return initiator;  // config.password is wiped when config goes out of scope
}

bool Initiator::established() const {
    return ctx_ && ctx_->established;
}

bool is_same_account(const PeerName& peer, std::string_view user, std::string_view domain) {
    const auto same = [](std::string_view a, std::string_view b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) ==
                   std::tolower(static_cast<unsigned char>(y));
        });
    };
    return same(peer.user, user) &&
           (peer.domain.empty() || domain.empty() || same(peer.domain, domain));
}

Result<Step> Initiator::step(ByteView token) {
    if (auto s = usable(ctx_.get(), "gss_init_sec_context"); !s) return s.error();
    if (ctx_->established)
        return own_error("gss_init_sec_context", Failure::other, "already established");
    if (ctx_->handle != GSS_C_NO_CONTEXT && token.empty()) {
        ctx_->failed = true;
        return own_error("gss_init_sec_context", Failure::malformed_token, "empty token");
    }
    // FreeRDP-based hosts' CHALLENGE, made acceptable to gss-ntlmssp; raw NTLM only, where no
    // SPNEGO mechListMIC covers it (rdp/ntlmssp.hpp).
    Bytes challenge;
    if (framing_ == Framing::raw_ntlm && ctx_->handle != GSS_C_NO_CONTEXT) {
        challenge = rdp::ntlmssp::prefer_unicode(token);
        token = challenge;
    }
    OM_uint32 minor = 0;
    gss_buffer_desc in = view(token);
    Buffer out;
    OM_uint32 flags = 0;
    OM_uint32 major = gss_init_sec_context(
        &minor, ctx_->cred.get(), &ctx_->handle, ctx_->target.get(),
        framing_ == Framing::spnego ? &kSpnegoOid : &kNtlmOid, kContextFlags, GSS_C_INDEFINITE,
        GSS_C_NO_CHANNEL_BINDINGS, token.empty() ? GSS_C_NO_BUFFER : &in, nullptr, out.get(),
        &flags, nullptr);
    if (GSS_ERROR(major)) {
        ctx_->failed = true;
        return gss_error("gss_init_sec_context", major, minor);
    }
    Step step{out.bytes(), !(major & GSS_S_CONTINUE_NEEDED)};
    if (step.done) {
        if (!(flags & GSS_C_CONF_FLAG)) {
            ctx_->failed = true;
            return own_error("gss_init_sec_context", Failure::other,
                             "the host did not agree to confidentiality (NTLM SEAL), which "
                             "CredSSP needs");
        }
        ctx_->established = true;
    }
    return step;
}

Result<Bytes> Initiator::wrap(ByteView plaintext) {
    if (auto s = usable(ctx_.get(), "gss_wrap"); !s) return s.error();
    return ctx_->wrap(plaintext);
}
Result<Bytes> Initiator::unwrap(ByteView sealed) {
    if (auto s = usable(ctx_.get(), "gss_unwrap"); !s) return s.error();
    return ctx_->unwrap(sealed);
}

}  // namespace rdpbridge::nla
