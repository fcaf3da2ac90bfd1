// libFuzzer's entry point for an executable built from exactly one harness (see CMakeLists.txt).
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const rdpbridge::fuzz::Target* const target = [] {
        const auto& all = rdpbridge::fuzz::targets();
        if (all.size() != 1) {
            std::fprintf(stderr, "fuzz: expected exactly one harness in this binary, found %zu\n",
                         all.size());
            std::abort();
        }
        return &all.front();
    }();
    target->run(rdpbridge::rdp::ByteView(data, size));
    return 0;
}
