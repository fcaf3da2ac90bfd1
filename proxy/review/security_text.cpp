#include "proxy/review/security_text.hpp"

namespace rdpbridge::review {

namespace {

std::string text(const Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// OpenSSL names versions "TLSv1", "TLSv1.2"; people say "TLS 1.0", "TLS 1.2".
std::string tls_version(std::string v) {
    if (v.rfind("TLSv", 0) != 0) return v;
    v = "TLS " + v.substr(4);
    return v.find('.') == std::string::npos ? v + ".0" : v;
}

}  // namespace

std::string security_text(const Json& leg) {
    if (!leg.is_object()) return "";
    const std::string selected = text(leg, "selected");
    if (selected == "RDP") {
        const std::string method = text(leg, "encryption_method");
        return "Standard RDP Security" + (method.empty() ? "" : " " + method);
    }
    std::string out = tls_version(text(leg, "tls_version"));
    if (const std::string cipher = text(leg, "cipher"); !cipher.empty()) out += " " + cipher;
    if (selected.rfind("HYBRID", 0) == 0) out += " + NLA";
    if (leg.value("tls_resumed", false)) out += " (resumed)";
    return out;
}

}  // namespace rdpbridge::review
