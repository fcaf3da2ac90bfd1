#include "proxy/probe/toml_block.hpp"

#include <cstdio>

#include "proxy/probe/verdict.hpp"
#include "proxy/probe/wording.hpp"

namespace rdpbridge::probe {

namespace {

constexpr std::size_t kCommentColumn = 40;

std::string endpoint(const config::Endpoint& e) {
    const bool v6 = e.host.find(':') != std::string::npos;
    return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

std::string duration(config::Duration d) {
    const auto ms = d.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

class Writer {
  public:
    explicit Writer(const Recommendation& r) : r_(r) {}

    void comment(const std::string& text) { out_ += "# " + text + "\n"; }
    void line(const std::string& text) { out_ += text + "\n"; }
    // `key = value`, with the reason recorded for `why_key` as a trailing comment, or above the
    // line when the line is too long for one.
    void key(const std::string& key, const std::string& value, const std::string& why_key) {
        const std::string text = key + " = " + value;
        const auto it = r_.why.find(why_key);
        if (it == r_.why.end()) {
            line(text);
        } else if (text.size() + 2 <= kCommentColumn) {
            line(text + std::string(kCommentColumn - text.size(), ' ') + "# " + it->second);
        } else {
            comment(it->second);
            line(text);
        }
    }
    std::string take() { return std::move(out_); }

  private:
    const Recommendation& r_;
    std::string out_;
};

}  // namespace

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x",
                                  unsigned(static_cast<unsigned char>(c)));
                    out += buf;
                } else {
                    out.push_back(c);
                }
        }
    }
    return out + "\"";
}

std::string toml_block(const Findings& f, const Recommendation& r) {
    const auto& b = r.backend;
    Writer w(r);
    w.comment("rdpbridge probe " + endpoint(b.address) + ": " + era(f));
    if (r.verified == true) {
        w.comment("Verified: a TLS handshake with exactly these settings succeeded (" +
                  r.verification_detail + ").");
    } else if (r.verified == false) {
        w.comment("NOT verified: a handshake with these settings failed (" + r.verification_detail +
                  ").");
    }
    for (const auto& note : r.notes) w.comment(note);
    w.line("[[backend]]");
    w.key("name", toml_string(b.name), "name");
    w.key("address", toml_string(endpoint(b.address)), "address");
    w.key("security", toml_string(config::to_string(b.security)), "security");
    w.key("connect_timeout", toml_string(duration(b.connect_timeout)), "connect_timeout");
    if (!r.has_tls) {
        // Standard RDP Security: [backend.tls] only carries how the host's RSA key is checked.
        if (b.security == config::BackendSecurity::rdp && !b.tls.rdp_key_sha256.empty()) {
            w.line("");
            w.line("[backend.tls]");
            w.key("verify", toml_string(config::to_string(b.tls.verify)), "tls.verify");
            w.key("rdp_key_sha256", toml_string(b.tls.rdp_key_sha256), "tls.rdp_key_sha256");
        }
        return w.take();
    }

    const auto& t = b.tls;
    w.line("");
    w.line("[backend.tls]");
    w.key("min_version", toml_string(config::to_string(t.min_version)), "tls.min_version");
    w.key("max_version", toml_string(config::to_string(t.max_version)), "tls.max_version");
    w.key("ciphers", toml_string(t.ciphers), "tls.ciphers");
    w.key("security_level", std::to_string(t.security_level), "tls.security_level");
    w.key("legacy_renegotiation", t.legacy_renegotiation ? "true" : "false",
          "tls.legacy_renegotiation");
    w.key("verify", toml_string(config::to_string(t.verify)), "tls.verify");
    if (t.verify == config::CertVerify::pin) {
        w.key("pin_sha256", toml_string(colon_hex(t.pin_sha256)), "tls.pin_sha256");
    }
    if (!t.sni.empty()) w.key("sni", toml_string(t.sni), "tls.sni");
    return w.take();
}

}  // namespace rdpbridge::probe
