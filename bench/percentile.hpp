// Percentiles of latency samples.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace rdpbridge::bench {

// The smallest sample at or above fraction `p` (0..1) of the samples (nearest rank).
inline int64_t percentile(std::vector<int64_t> samples, double p) {
    if (samples.empty()) throw std::runtime_error("no latency samples");
    std::size_t rank = std::size_t(p * double(samples.size()));
    rank = std::min(rank, samples.size() - 1);
    std::nth_element(samples.begin(), samples.begin() + long(rank), samples.end());
    return samples[rank];
}

}  // namespace rdpbridge::bench
