// [[listener]]: where clients connect, with its [listener.tls], NLA and access lists.
#include "config/load_toml.hpp"

#include <algorithm>
#include <string>

namespace rdpbridge::config::internal {
namespace {

constexpr std::string_view kListenerKeys[] = {
    "name", "bind",           "default_backend",    "tls",
    "nla",  "nla_users",      "nla_keytab",         "allow",
    "deny", "proxy_protocol", "proxy_protocol_from"};
constexpr std::string_view kFrontTlsKeys[] = {"certificate", "private_key", "min_version"};

}  // namespace

Listener Reader::read_listener(const Scope& s) {
    check_keys(s, kListenerKeys);
    Listener l;
    if (auto name = string(s, "name", Need::required, "name = \"main\"")) {
        if (is_listener_name(*name)) {
            l.name = *name;
        } else {
            fail(s.get("name")->source(), s.key("name"),
                 in_quotes(*name) +
                     " is not a valid listener name; use only letters, digits, '_', "
                     "'.' and '-'");
        }
    }
    // Port 0 lets the OS pick a free port, which tests rely on.
    if (auto ep = endpoint(s, "bind", true, "bind = \"0.0.0.0:3389\"")) l.bind = *ep;
    if (auto b = nonempty(s, "default_backend")) l.default_backend = *b;
    if (auto tls = table(s, "tls", "[listener.tls]")) read_front_tls(*tls, l.tls);
    if (auto mode = choice(s, "nla", kNlaChoices, "an NLA mode")) l.nla = *mode;
    if (auto users = nonempty(s, "nla_users")) l.nla_users = fs::path(*users);
    if (auto keytab = nonempty(s, "nla_keytab")) l.nla_keytab = fs::path(*keytab);
    l.allow = read_cidrs(s, "allow");
    l.deny = read_cidrs(s, "deny");
    if (auto proxy = boolean(s, "proxy_protocol")) l.proxy_protocol = *proxy;
    l.proxy_protocol_from = read_cidrs(s, "proxy_protocol_from");
    if (l.proxy_protocol && l.proxy_protocol_from.empty() &&
        s.get("proxy_protocol_from") == nullptr) {
        fail(s.get("proxy_protocol")->source(), s.key("proxy_protocol"),
             "a PROXY header says where the client is, so only the load balancers may send "
             "one: add proxy_protocol_from = [\"10.0.0.5/32\"] with their addresses");
    } else if (!l.proxy_protocol && !l.proxy_protocol_from.empty()) {
        fail(s.get("proxy_protocol_from")->source(), s.key("proxy_protocol_from"),
             "is only read with proxy_protocol = true; set that too, or remove this key");
    }
    if (l.nla != NlaMode::off && !l.nla_users && s.get("nla_users") == nullptr) {
        fail(s.get("nla")->source(), s.key("nla"),
             "NLA needs to know who may log on: add nla_users = \"/etc/rdpbridge/nla-users\", a "
             "file of DOMAIN:USER:PASSWORD lines readable only by the gateway (mode 0600), or "
             "set nla = \"off\"");
    }
    return l;
}

void Reader::read_front_tls(const Scope& s, FrontTls& out) {
    check_keys(s, kFrontTlsKeys);
    out.certificate = path(s, "certificate");
    out.private_key = path(s, "private_key");
    const bool has_cert = s.get("certificate") != nullptr;
    const bool has_key = s.get("private_key") != nullptr;
    if (has_cert != has_key) {
        const std::string_view present = has_cert ? "certificate" : "private_key";
        const std::string_view missing = has_cert ? "private_key" : "certificate";
        fail(s.table->source(), s.key(missing),
             std::string(present) + " is set but " + std::string(missing) +
                 " is not; set both (PEM files) or neither (a self-signed certificate is then "
                 "generated in state_dir)");
    }

    const toml::node* version = s.get("min_version");
    const auto* text = version != nullptr ? version->as_string() : nullptr;
    if (text != nullptr && (text->get() == "1.0" || text->get() == "1.1")) {
        fail(version->source(), s.key("min_version"),
             in_quotes(text->get()) +
                 " is refused on the front: clients get TLS 1.2 or newer; use "
                 "\"1.2\" or \"1.3\" here. Legacy TLS belongs only in "
                 "[backend.tls], for old hosts");
        return;
    }
    if (auto v = choice(s, "min_version", kFrontTlsVersionChoices, "a TLS version")) {
        out.min_version = *v;
    }
}

std::vector<Cidr> Reader::read_cidrs(const Scope& s, std::string_view key) {
    std::vector<Cidr> out;
    const toml::node* n = find(s, key, Need::optional);
    if (n == nullptr) return out;
    const toml::array* array = n->as_array();
    if (array == nullptr) {
        fail(
            n->source(), s.key(key),
            "expected an array of addresses or ranges, e.g. [\"192.0.2.0/24\", \"2001:db8::/32\"]");
        return out;
    }
    for (const toml::node& item : *array) {
        const auto* text = item.as_string();
        std::string why = "expected a string such as \"192.0.2.0/24\"";
        auto cidr = text ? parse_cidr(text->get(), &why) : std::nullopt;
        if (!cidr) {
            fail(item.source(), s.key(key),
                 why +
                     "; write an address (\"192.0.2.7\") or a range "
                     "(\"192.0.2.0/24\", \"2001:db8::/32\")");
            continue;
        }
        out.push_back(std::move(*cidr));
    }
    return out;
}

}  // namespace rdpbridge::config::internal
