// Wiping buffers that may hold a secret (rdp/secret.hpp).
#include <gtest/gtest.h>

#include <algorithm>

#include "rdp/secret.hpp"

using namespace rdpbridge::rdp;

namespace {

// Reads a buffer's whole allocation after it was emptied: the test looks at memory the vector
// still owns (its capacity), which is what a heap dump would show once it is freed.
bool all_zero(const uint8_t* p, std::size_t n) {
    return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

TEST(Wipe, CleansTheWholeCapacityAndKeepsTheAllocation) {
    Bytes b(64, 0xAA);
    b.resize(8);  // the 56 bytes past the end still hold 0xAA
    const uint8_t* storage = b.data();
    const std::size_t capacity = b.capacity();
    ASSERT_EQ(storage[40], 0xAA);
    wipe(b);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.data(), storage);  // nothing reallocated, so no copy was left behind
    EXPECT_EQ(b.capacity(), capacity);
    EXPECT_TRUE(all_zero(storage, capacity));
}

TEST(Wipe, EmptyBufferIsFine) {
    Bytes none;
    wipe(none);
    EXPECT_TRUE(none.empty());
}

TEST(WipeOnExit, WipesWhenTheScopeEndsEarly) {
    Bytes out;
    out.reserve(32);
    const uint8_t* storage = out.data();
    for (int i = 0; i < 3; ++i) {
        const WipeOnExit guard(out);
        out.assign(32, uint8_t(0x50 + i));
        if (i == 1) break;
    }
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(out.data(), storage);
    EXPECT_TRUE(all_zero(storage, 32));
}

// The relay's read buffer: a raw range, wiped as the iteration that read it ends.
TEST(WipeOnExit, WipesARawRangeAndIgnoresNull) {
    uint8_t read[24];
    std::fill(std::begin(read), std::end(read), uint8_t(0x41));
    {
        const WipeOnExit guard(read, 16);
        const WipeOnExit nothing(nullptr, 99);
    }
    EXPECT_TRUE(all_zero(read, 16));
    EXPECT_EQ(read[16], 0x41);  // only the range it was given
}

}  // namespace
