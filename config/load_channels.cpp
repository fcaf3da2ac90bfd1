// [backend.channels] and [route.channels]: which static virtual channels, and which rdpdr device
// types ([*.channels.devices]), reach the host. The names' checks are in channel_policy.cpp, free
// of TOML; names that are valid but unknown are warnings (channel_warnings), not errors here.
#include <string>
#include <utility>

#include "config/channel_policy.hpp"
#include "config/load_toml.hpp"

namespace rdpbridge::config::internal {
namespace {

constexpr std::string_view kChannelsKeys[] = {"allow", "deny", "devices"};
constexpr std::string_view kDevicesKeys[] = {"allow", "deny"};

}  // namespace

std::optional<ChannelPolicy> Reader::read_channel_policy(const Scope& parent, std::string_view what,
                                                         std::string_view devices_what) {
    const auto s = table(parent, "channels", what);
    if (!s) return std::nullopt;
    check_keys(*s, kChannelsKeys);
    ChannelPolicy policy;
    policy.channels = read_pass_rules(*s, Names::channels);
    // `devices = ["drive"]` reads naturally but leaves open whether it allows or denies.
    if (const toml::node* n = s->get("devices"); n != nullptr && n->is_array()) {
        fail(n->source(), s->key("devices"),
             "devices is a table of its own: write " + std::string(devices_what) +
                 " and under it deny = [\"drive\"] (or allow = [\"printer\"])");
    } else if (const auto devices = table(*s, "devices", devices_what)) {
        check_keys(*devices, kDevicesKeys);
        policy.devices = read_pass_rules(*devices, Names::devices);
    }
    return policy;
}

PassRules Reader::read_pass_rules(const Scope& s, Names kind) {
    PassRules rules;
    rules.allow = read_names(s, "allow", kind);
    if (auto deny = read_names(s, "deny", kind)) rules.deny = std::move(*deny);
    if (const toml::node* deny = s.get("deny"); deny != nullptr && s.get("allow") != nullptr) {
        const std::string_view things = kind == Names::channels ? "channels" : "device types";
        fail(deny->source(), s.key("deny"),
             "allow and deny are both set in " + std::string(s.what) +
                 "; use allow or deny, not both: allow lists the only " + std::string(things) +
                 " that pass (allow = [] lets none through), deny the ones that never pass");
    }
    return rules;
}

std::optional<std::vector<std::string>> Reader::read_names(const Scope& s, std::string_view key,
                                                           Names kind) {
    const toml::node* n = find(s, key, Need::optional);
    if (n == nullptr) return std::nullopt;
    const std::string k = s.key(key);
    const std::string_view example = kind == Names::channels ? "[\"cliprdr\"]" : "[\"drive\"]";
    const toml::array* array = n->as_array();
    if (array == nullptr) {
        const auto* text = n->as_string();
        fail(n->source(), k,
             text != nullptr ? "expected an array of strings, got a string; write " +
                                   std::string(key) + " = [" + in_quotes(text->get()) + "]"
                             : "expected an array of strings such as " + std::string(example) +
                                   " (an empty array is allowed)");
        return std::nullopt;
    }
    std::vector<std::string> names;
    bool ok = true;
    for (const toml::node& item : *array) {
        const auto* text = item.as_string();
        if (text == nullptr) {
            wrong_type(item, k, "a string");
            ok = false;
            continue;
        }
        std::string name;
        auto problem = kind == Names::channels ? check_channel_name(text->get(), name)
                                               : check_device_type(text->get(), name);
        if (problem) {
            fail(item.source(), k, std::move(*problem));
            ok = false;
            continue;
        }
        names.push_back(std::move(name));
    }
    if (!ok) return std::nullopt;
    return names;
}

}  // namespace rdpbridge::config::internal
