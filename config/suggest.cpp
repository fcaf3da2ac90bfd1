#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "config/wording.hpp"

namespace rdpbridge::config {

// Optimal string alignment distance: typos are mostly one inserted, dropped, replaced or swapped
// character, and a swap should cost 1, not 2.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                             std::tolower(static_cast<unsigned char>(b[j - 1]))
                                         ? 0
                                         : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

// Very short words are excluded: every two-letter word is within distance 2 of every other one,
// so a suggestion would be noise.
std::optional<std::string_view> closest(std::string_view word,
                                        std::span<const std::string_view> candidates) {
    std::optional<std::string_view> best;
    std::size_t best_distance = 3;
    for (std::string_view c : candidates) {
        const std::size_t distance = edit_distance(word, c);
        if (distance < best_distance && distance < word.size()) {
            best = c;
            best_distance = distance;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
    const auto match = closest(word, candidates);
    return match ? "did you mean " + in_quotes(*match) + "? " : std::string();
}

}  // namespace rdpbridge::config
