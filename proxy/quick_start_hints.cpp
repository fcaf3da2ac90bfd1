#include "proxy/quick_start_hints.hpp"

#include <regex>

namespace rdpbridge::proxy {

std::string quick_start_hint(std::string hint, const std::string& backend_name,
                             const std::string& target) {
    static const std::regex set_security(R"((Set|set|try) \[\[backend\]\] security = \"(\w+)\")");
    static const std::regex security(R"(\[\[backend\]\] security = \"(\w+)\")");
    static const std::regex or_value(R"((--backend-security \w+) (\(or|or) \"(\w+)\")");
    static const std::regex address(R"(\[\[backend\]\] address)");
    static const std::regex nla(
        R"(Set nla = \"offer\" \(or \"require\"\) and nla_users on the \[\[listener\]\])");
    static const std::regex config_key(
        R"(\[(backend\.\w+|listener\.\w+|limits|\[backend\]\]|\[listener\]\]))");

    hint = std::regex_replace(hint, set_security, "run with --backend-security $2");
    hint = std::regex_replace(hint, security, "--backend-security $1");
    hint = std::regex_replace(hint, or_value, "$1 $2 $3");
    hint = std::regex_replace(hint, address, "--target");
    hint = std::regex_replace(hint, nla, "Run with --nla-users FILE");
    if (std::regex_search(hint, config_key)) {
        hint +=
            " (No flag sets this: write a config file — deploy/rdpbridge.toml is annotated — "
            "with [[backend]] name = \"" +
            backend_name + "\", address = \"" + target + "\", and run with --config.)";
    }
    return hint;
}

}  // namespace rdpbridge::proxy
