#include "bench/crypto_bound.hpp"

#include "bench/proc_stats.hpp"
#include "bench/record_protection.hpp"

namespace rdpbridge::bench {

namespace {

constexpr std::size_t kMaxRecord = 16384;  // TLS plaintext limit per record
// Records replayed per pass: few enough to stay in cache, as the gateway's buffers do.
constexpr std::size_t kRecordsPerPass = 16;

// The record sizes one PDU becomes when written with one SSL_write.
std::vector<std::size_t> records_of(std::size_t pdu) {
    std::vector<std::size_t> sizes;
    for (std::size_t left = pdu; left > 0; left -= std::min(left, kMaxRecord))
        sizes.push_back(std::min(left, kMaxRecord));
    return sizes;
}

}  // namespace

RelayBound relay_bound(const Suite& from, const Suite& to, std::size_t pdu, double seconds) {
    auto in = make_record_protection(from);
    auto out = make_record_protection(to);

    // What arrives from the `from` leg: sealed records, recorded once and replayed.
    std::vector<Buffer> arriving;
    std::size_t pass_bytes = 0;
    while (arriving.size() < kRecordsPerPass) {
        for (std::size_t size : records_of(pdu)) {
            Buffer plain(size, uint8_t(arriving.size()));
            arriving.emplace_back();
            in->seal(plain, arriving.back());
            pass_bytes += size;
        }
    }

    Buffer plain, sealed;
    uint64_t bytes = 0;
    const double start = thread_cpu_seconds();
    double used = 0;
    do {
        in->rewind();
        out->rewind();
        for (const auto& record : arriving) {
            in->open(record, plain);
            out->seal(plain, sealed);
        }
        bytes += pass_bytes;
        used = thread_cpu_seconds() - start;
    } while (used < seconds);
    return {double(bytes) / used, in->name(), out->name()};
}

}  // namespace rdpbridge::bench
