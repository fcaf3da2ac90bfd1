// How configuration error messages quote values and list names, so that every message, whether
// it comes from the TOML reader or a quick-start flag, reads the same way.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace rdpbridge::config {

std::string in_quotes(std::string_view s);

// "a, b, c", or "\"a\", \"b\", \"c\"" with `quote`.
std::string join(std::span<const std::string_view> items, bool quote);

}  // namespace rdpbridge::config
