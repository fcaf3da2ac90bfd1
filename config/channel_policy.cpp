#include "config/channel_policy.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <utility>

#include "config/load.hpp"
#include "config/suggest.hpp"
#include "config/wording.hpp"

namespace rdpbridge::config {
namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

bool contains(const std::vector<std::string>& list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

std::string hex_byte(unsigned char c) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "0x%02X", c);
    return buffer;
}

std::string listed(const std::vector<std::string>& names) {
    std::vector<std::string_view> views(names.begin(), names.end());
    return join(views, false);
}

// A [*.channels] table: its key ("backend[0].channels") and how warnings name its owner
// ("backend \"press\"").
struct Table {
    const ChannelPolicy* policy;
    std::string key;
    std::string owner;
};

void unknown_names(const Config& config, const Table& t, std::vector<std::string>& out) {
    const auto warn = [&](const std::vector<std::string>& names, std::string_view list,
                          std::string_view effect) {
        for (const std::string& name : names) {
            if (is_known_channel(name)) continue;
            std::string message =
                t.owner + ": " + in_quotes(name) + " is not a static channel rdpbridge knows, so " +
                std::string(list) + " " + std::string(effect) +
                " only a channel of exactly that name; " + did_you_mean(name, kKnownChannels) +
                "known: " + join(kKnownChannels, true) +
                " (a third-party channel's name is fine as it is)";
            out.push_back(
                error_at(config, t.key + "." + std::string(list), std::move(message)).to_string());
        }
    };
    if (t.policy->channels.allow) warn(*t.policy->channels.allow, "allow", "lets through");
    warn(t.policy->channels.deny, "deny", "stops");
}

void devices_without_rdpdr(const Config& config, const Table& t, std::vector<std::string>& out) {
    if (t.policy->devices == PassRules{} || passes(t.policy->channels, "rdpdr")) return;
    const std::string why = t.policy->channels.allow ? "allow does not list it" : "deny lists it";
    out.push_back(error_at(config, t.key + ".devices",
                           t.owner + ": devices has no effect: rdpdr is not passed (" + why +
                               "), so no device reaches the host anyway; remove the devices "
                               "table, or let rdpdr pass")
                      .to_string());
}

}  // namespace

std::optional<std::string> check_channel_name(std::string_view text, std::string& out) {
    constexpr std::string_view kFix =
        "; a static channel name is 1 to 7 ASCII letters, digits or punctuation, e.g. "
        "\"cliprdr\"";
    if (text.empty()) return "a channel name must not be empty" + std::string(kFix);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c > 0x20 && c < 0x7f) continue;
        // The name itself is not quoted: it holds a character that could break the line.
        const std::string what = c == ' '    ? "a space"
                                 : c >= 0x80 ? "byte " + hex_byte(c) + ", not ASCII,"
                                             : "control character " + hex_byte(c);
        return "the channel name has " + what + " at position " + std::to_string(i + 1) +
               ", which no static channel name has" + std::string(kFix);
    }
    if (text.size() > kMaxChannelName) {
        return in_quotes(text) + " has " + std::to_string(text.size()) +
               " characters, but a static channel name has at most 7 (CHANNEL_DEF.name is 8 "
               "bytes with the terminating NUL), so no client can offer it; " +
               did_you_mean(text, kKnownChannels) + "known: " + join(kKnownChannels, true);
    }
    out = lowered(text);
    return std::nullopt;
}

std::optional<std::string> check_device_type(std::string_view text, std::string& out) {
    const std::string name = lowered(text);
    if (std::find(std::begin(kDeviceTypes), std::end(kDeviceTypes), name) !=
        std::end(kDeviceTypes)) {
        out = name;
        return std::nullopt;
    }
    return in_quotes(text) + " is not an rdpdr device type; " + did_you_mean(text, kDeviceTypes) +
           "use one of " + join(kDeviceTypes, true);
}

bool is_known_channel(std::string_view lower_name) {
    return std::find(std::begin(kKnownChannels), std::end(kKnownChannels), lower_name) !=
           std::end(kKnownChannels);
}

bool passes(const PassRules& rules, std::string_view name) {
    const std::string n = lowered(name);
    return rules.allow ? contains(*rules.allow, n) : !contains(rules.deny, n);
}

const ChannelPolicy* effective_channel_policy(const Backend& backend, const Route* route) {
    if (route != nullptr && route->channels) return &*route->channels;
    return backend.channels ? &*backend.channels : nullptr;
}

std::string describe(const PassRules& rules) {
    if (rules.allow) return rules.allow->empty() ? "none" : "only " + listed(*rules.allow);
    return rules.deny.empty() ? "all" : "all but " + listed(rules.deny);
}

std::string describe(const ChannelPolicy& policy) {
    std::string out = "channels " + describe(policy.channels);
    if (policy.devices != PassRules{} && passes(policy.channels, "rdpdr"))
        out += ", rdpdr devices " + describe(policy.devices);
    return out;
}

void channel_warnings(const Config& config, std::vector<std::string>& out) {
    const auto check = [&](const Table& t) {
        unknown_names(config, t, out);
        devices_without_rdpdr(config, t, out);
    };
    for (std::size_t i = 0; i < config.backends.size(); ++i) {
        const Backend& b = config.backends[i];
        if (b.channels) {
            check({&*b.channels, "backend[" + std::to_string(i) + "].channels",
                   "backend " + in_quotes(b.name)});
        }
    }
    for (std::size_t i = 0; i < config.routes.size(); ++i) {
        const Route& r = config.routes[i];
        if (r.channels) {
            check({&*r.channels, "route[" + std::to_string(i) + "].channels",
                   "route " + in_quotes(r.mstshash)});
        }
    }
}

}  // namespace rdpbridge::config
