// [[backend]]: the hosts behind the gateway, with [backend.tls] and [backend.credentials]
// ([backend.channels] is read in load_channels.cpp, shared with [route.channels]).
#include "config/load_toml.hpp"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

namespace rdpbridge::config::internal {
namespace {

constexpr std::string_view kBackendKeys[] = {
    "name", "address",     "security",           "connect_timeout", "encryption_methods",
    "tls",  "credentials", "early_host_contact", "channels"};
constexpr std::string_view kCredentialsKeys[] = {"user", "domain", "password_file"};
constexpr std::string_view kBackendTlsKeys[] = {"min_version",
                                                "max_version",
                                                "ciphers",
                                                "security_level",
                                                "legacy_renegotiation",
                                                "verify",
                                                "pin_sha256",
                                                "ca_file",
                                                "sni",
                                                "name",
                                                "rdp_key_sha256",
                                                "tofu_first_use",
                                                "resume"};

}  // namespace

Backend Reader::read_backend(const Scope& s) {
    check_keys(s, kBackendKeys);
    Backend b;
    if (auto name = nonempty(s, "name", Need::required, "name = \"win7\"")) b.name = *name;
    if (auto ep = endpoint(s, "address", false, "address = \"192.0.2.7:3389\"")) b.address = *ep;
    if (auto sec = choice(s, "security", kSecurityChoices, "a backend security mode")) {
        b.security = *sec;
    }
    if (auto d = duration(s, "connect_timeout")) b.connect_timeout = *d;
    if (auto early = boolean(s, "early_host_contact")) b.early_host_contact = *early;
    read_encryption_methods(s, b.encryption_methods);
    if (auto tls = table(s, "tls", "[backend.tls]")) read_backend_tls(*tls, b.security, b.tls);
    if (auto creds = table(s, "credentials", "[backend.credentials]")) {
        check_keys(*creds, kCredentialsKeys);
        ServiceCredentials c;
        if (auto u = nonempty(*creds, "user", Need::required, "user = \"kiosk\"")) c.user = *u;
        if (auto d = string(*creds, "domain")) c.domain = *d;
        if (auto f = nonempty(*creds, "password_file", Need::required,
                              "password_file = \"/etc/rdpbridge/kiosk.password\""))
            c.password_file = *f;
        b.credentials = std::move(c);
    }
    b.channels = read_channel_policy(s, "[backend.channels]", "[backend.channels.devices]");
    return b;
}

void Reader::read_encryption_methods(const Scope& s, uint32_t& out) {
    static constexpr std::pair<std::string_view, uint32_t> kMethods[] = {
        {"40", rdp_method::bits40},
        {"56", rdp_method::bits56},
        {"128", rdp_method::bits128},
        {"fips", rdp_method::fips}};
    const toml::node* n = s.get("encryption_methods");
    if (n == nullptr) return;
    const std::string key = s.key("encryption_methods");
    const toml::array* array = n->as_array();
    if (array == nullptr || array->empty()) {
        fail(n->source(), key,
             "expected a non-empty array such as [\"128\", \"fips\"]; allowed values: "
             "\"40\", \"56\", \"128\", \"fips\"");
        return;
    }
    uint32_t methods = 0;
    for (const toml::node& item : *array) {
        const auto* text = item.as_string();
        const auto* hit = text == nullptr
                              ? std::end(kMethods)
                              : std::find_if(std::begin(kMethods), std::end(kMethods),
                                             [&](auto& m) { return m.first == text->get(); });
        if (hit == std::end(kMethods)) {
            fail(item.source(), key,
                 "unknown encryption method; allowed values: \"40\", \"56\", \"128\", \"fips\"");
            return;
        }
        methods |= hit->second;
    }
    out = methods;
}

void Reader::read_backend_tls(const Scope& s, BackendSecurity security, BackendTls& out) {
    check_keys(s, kBackendTlsKeys);
    const auto min = choice(s, "min_version", kTlsVersionChoices, "a TLS version");
    const auto max = choice(s, "max_version", kTlsVersionChoices, "a TLS version");
    if (min) out.min_version = *min;
    if (max) out.max_version = *max;
    // A bad value already has its error; comparing with the default would only add noise.
    const bool versions_ok = (min || !s.get("min_version")) && (max || !s.get("max_version"));
    if (versions_ok) check_tls_range(s, out);

    if (auto c = nonempty(s, "ciphers")) out.ciphers = *c;
    if (auto level = integer(s, "security_level", 0, 5))
        out.security_level = static_cast<int>(*level);
    if (auto legacy = boolean(s, "legacy_renegotiation")) out.legacy_renegotiation = *legacy;
    if (auto resume = boolean(s, "resume")) out.resume = *resume;
    const auto verify = choice(s, "verify", kVerifyChoices, "a verify mode");
    if (verify) out.verify = *verify;
    if (auto pin = string(s, "pin_sha256")) {
        if (auto problem = check_pin(*pin, out.pin_sha256)) {
            fail(s.get("pin_sha256")->source(), s.key("pin_sha256"), std::move(*problem));
        }
    }
    if (auto key = string(s, "rdp_key_sha256")) {
        if (auto problem = check_pin(*key, out.rdp_key_sha256)) {
            fail(s.get("rdp_key_sha256")->source(), s.key("rdp_key_sha256"), std::move(*problem));
        }
    }
    if (auto first = choice(s, "tofu_first_use", kFirstUseChoices, "a first-use policy"))
        out.tofu_first_use = *first;
    out.ca_file = path(s, "ca_file");
    if (auto sni = string(s, "sni")) out.sni = *sni;
    if (auto name = nonempty(s, "name")) out.name = *name;
    if (verify || s.get("verify") == nullptr) check_verify(s, security, out.verify);
}

void Reader::check_tls_range(const Scope& s, const BackendTls& tls) {
    if (tls.max_version >= tls.min_version) return;
    // Blame the key the user wrote; with only one written, the other is the default.
    const std::string_view blamed = s.get("max_version") != nullptr ? "max_version" : "min_version";
    fail(s.get(blamed)->source(), s.key(blamed),
         "max_version " + in_quotes(to_string(tls.max_version)) + " is lower than min_version " +
             in_quotes(to_string(tls.min_version)) +
             "; raise max_version or lower min_version (defaults: \"1.0\"..\"1.3\")");
}

// pin_sha256, ca_file, name, rdp_key_sha256 and tofu_first_use belong to some verify modes
// only; a stray one usually means the operator believes verification is on when it is not.
void Reader::check_verify(const Scope& s, BackendSecurity security, CertVerify verify) {
    const toml::node* pin = s.get("pin_sha256");
    const toml::node* ca = s.get("ca_file");
    const toml::node* rdp_key = s.get("rdp_key_sha256");
    const bool rdp_only = security == BackendSecurity::rdp;
    if (verify == CertVerify::pin && rdp_only && rdp_key == nullptr) {
        fail(s.table->source(), s.key("rdp_key_sha256"),
             "verify = \"pin\" with security = \"rdp\" needs rdp_key_sha256 = \"<SHA-256 of "
             "the host's RDP key, as rdpbridge probe prints it>\"");
    }
    if (verify == CertVerify::pin && !rdp_only && pin == nullptr) {
        fail(s.table->source(), s.key("pin_sha256"),
             "verify = \"pin\" needs pin_sha256 = \"<SHA-256 as 64 hex digits>\"");
    }
    if (verify == CertVerify::ca && rdp_only) {
        fail(s.get("verify")->source(), s.key("verify"),
             "a CA cannot vouch for a Standard RDP Security key (security = \"rdp\"); use "
             "verify = \"tofu\", or \"pin\" with rdp_key_sha256");
    }
    if (verify == CertVerify::ca && ca == nullptr) {
        fail(s.table->source(), s.key("ca_file"),
             "verify = \"ca\" needs ca_file = \"<PEM file of trusted CA certificates>\"");
    }
    if (pin != nullptr && verify != CertVerify::pin) {
        fail(pin->source(), s.key("pin_sha256"),
             "pin_sha256 is only used with verify = \"pin\"; set verify = \"pin\" or remove it");
    }
    if (ca != nullptr && verify != CertVerify::ca) {
        fail(ca->source(), s.key("ca_file"),
             "ca_file is only used with verify = \"ca\"; set verify = \"ca\" or remove it");
    }
    if (const toml::node* name = s.get("name"); name != nullptr && verify != CertVerify::ca) {
        fail(name->source(), s.key("name"),
             "name is the host name checked in the certificate with verify = \"ca\"; set "
             "verify = \"ca\" or remove it");
    }
    if (rdp_key != nullptr && verify != CertVerify::pin && verify != CertVerify::ca) {
        fail(rdp_key->source(), s.key("rdp_key_sha256"),
             "rdp_key_sha256 is only used with verify = \"pin\" or \"ca\" (tofu records the "
             "key itself); set verify = \"pin\" or remove it");
    }
    if (const toml::node* first = s.get("tofu_first_use");
        first != nullptr && verify != CertVerify::tofu) {
        fail(first->source(), s.key("tofu_first_use"),
             "tofu_first_use is only used with verify = \"tofu\"; set verify = \"tofu\" or "
             "remove it");
    }
}

}  // namespace rdpbridge::config::internal
