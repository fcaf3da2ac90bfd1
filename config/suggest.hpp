// "did you mean ...?" for misspelt keys and values. Pure string work, so it is tested without
// writing a config file.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rdpbridge::config {

// Optimal string alignment distance; a substitution that only changes ASCII case costs nothing.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate within edit distance 2 of `word`, if any.
std::optional<std::string_view> closest(std::string_view word,
                                        std::span<const std::string_view> candidates);

// "did you mean \"X\"? " (trailing space included, to be followed by the list of choices), or ""
// when no candidate is close.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace rdpbridge::config
