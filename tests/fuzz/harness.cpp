#include "tests/fuzz/harness.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace rdpbridge::fuzz {

namespace {
bool throw_on_failure = false;
}

std::vector<Target>& targets() {
    static std::vector<Target> all;
    return all;
}

const Target* find_target(const std::string& name) {
    for (const auto& t : targets())
        if (t.name == name) return &t;
    return nullptr;
}

Register::Register(const char* name, TargetFn run) {
    targets().push_back(Target{name, run});
}

void set_throw_on_failure(bool on) {
    throw_on_failure = on;
}

void check_failed(const char* file, int line, const char* expression, const std::string& detail) {
    std::string message =
        std::string(file) + ":" + std::to_string(line) + ": oracle failed: " + expression;
    if (!detail.empty()) message += " -- " + detail;
    if (throw_on_failure) throw OracleFailure{message};
    std::fprintf(stderr, "==FUZZ ORACLE== %s\n", message.c_str());
    std::fflush(stderr);
    std::abort();
}

uint8_t Input::u8() {
    if (pos_ >= data_.size()) return 0;
    return data_[pos_++];
}

uint16_t Input::u16() {
    const uint16_t lo = u8();
    return uint16_t(lo | uint16_t(u8()) << 8);
}

uint32_t Input::u32() {
    const uint32_t lo = u16();
    return lo | uint32_t(u16()) << 16;
}

ByteView Input::take(std::size_t n) {
    n = std::min(n, remaining());
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
}

ByteView Input::rest() {
    return take(remaining());
}

uint32_t Chunker::next_random() {
    // xorshift32: tiny, deterministic, good enough to vary chunk boundaries.
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
}

std::size_t Chunker::next(std::size_t remaining) {
    if (remaining == 0) return 0;
    const uint32_t r = next_random();
    std::size_t n;
    switch (r & 3) {
        case 0:
            n = 1;
            break;
        case 1:
            n = 1 + (r >> 2) % 8;
            break;
        case 2:
            n = 1 + (r >> 2) % 512;
            break;
        default:
            n = remaining;
            break;
    }
    return std::min(n, remaining);
}

std::string hex_prefix(ByteView b, std::size_t max) {
    std::string s = rdp::hex(b.first(std::min(b.size(), max)));
    if (b.size() > max) s += "...(" + std::to_string(b.size()) + " bytes)";
    return s;
}

}  // namespace rdpbridge::fuzz
