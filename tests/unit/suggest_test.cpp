#include "config/suggest.hpp"

#include <gtest/gtest.h>

#include <string_view>

using namespace rdpbridge::config;

namespace {

constexpr std::string_view kKeys[] = {"level", "group", "rotate_files"};

}  // namespace

TEST(EditDistance, SwapCostsOneAndCaseIsFree) {
    EXPECT_EQ(edit_distance("abc", "acb"), 1u);
    EXPECT_EQ(edit_distance("Level", "level"), 0u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Closest, WithinTwoEditsAndNotForVeryShortWords) {
    EXPECT_EQ(closest("lvel", kKeys), "level");
    EXPECT_EQ(closest("rotate_flies", kKeys), "rotate_files");
    EXPECT_FALSE(closest("xyzzy", kKeys));
    // Two letters are within distance 2 of any other two letters: no suggestion.
    constexpr std::string_view kShort[] = {"cd"};
    EXPECT_FALSE(closest("ab", kShort));
}

TEST(DidYouMean, EndsWithASpaceOrIsEmpty) {
    EXPECT_EQ(did_you_mean("lvel", kKeys), "did you mean \"level\"? ");
    EXPECT_EQ(did_you_mean("xyzzy", kKeys), "");
}
