// Shared pieces of the fuzz harnesses in tests/fuzz/fuzz_*.cpp.
//
// A harness is one file with one RDPBRIDGE_FUZZ_TARGET(name) whose name is the file's stem. It
// is built twice: as a libFuzzer executable (with libfuzzer_main.cpp, when RDPBRIDGE_FUZZ is on)
// and into the unit tests, where regressions_test.cpp replays the seed corpus and every saved
// crash through the very same body. A harness therefore never uses libFuzzer-only headers, and
// reports oracle violations through FUZZ_CHECK, which aborts under libFuzzer and throws under
// GoogleTest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rdp/bytes.hpp"

namespace rdpbridge::fuzz {

using rdp::Bytes;
using rdp::ByteView;

using TargetFn = void (*)(ByteView input);

struct Target {
    std::string name;
    TargetFn run;
};

// A PDU size limit for the framing harnesses, taken from one input byte: the gateway's own,
// the edges of TPKT and fast-path lengths, the watcher's 64 kept bytes, and odd ones.
inline std::size_t pick_max_pdu(uint8_t selector) {
    switch (selector % 8) {
        case 0:
            return 0xFFFF;  // what the gateway uses
        case 1:
            return 7;  // the smallest legal TPKT
        case 2:
            return 0;
        case 3:
            return 64;  // the watcher's kept bytes
        case 4:
            return 0x7FFF;  // largest fast-path length
        case 5:
            return 0x10000;
        case 6:
            return 3;
        default:
            return std::size_t(selector) * 4;
    }
}

// Every harness linked into this binary, in static-initialisation order.
std::vector<Target>& targets();
const Target* find_target(const std::string& name);

struct Register {
    Register(const char* name, TargetFn run);
};

// Thrown by FUZZ_CHECK when replaying under GoogleTest (see set_throw_on_failure).
struct OracleFailure {
    std::string message;
};

// false (the default, for libFuzzer): print the failure and abort(), which libFuzzer records
// as a crash with its input. true: throw OracleFailure instead.
void set_throw_on_failure(bool on);
[[noreturn]] void check_failed(const char* file, int line, const char* expression,
                               const std::string& detail);

// Consumes the input from the front. Reading past the end yields zeros / empty views, so a
// harness never has to special-case short inputs, and seeds are easy to write by hand:
// the header fields come first, the protocol bytes last.
class Input {
  public:
    explicit Input(ByteView data) : data_(data) {}
    uint8_t u8();
    uint16_t u16();                // little-endian
    uint32_t u32();                // little-endian
    ByteView take(std::size_t n);  // at most n bytes
    ByteView rest();
    std::size_t remaining() const { return data_.size() - pos_; }

  private:
    ByteView data_;
    std::size_t pos_ = 0;
};

// Deterministic chunk sizes for feeding a stream: a mix of single bytes, small pieces, medium
// pieces and "everything that is left", from a seed the harness reads from its input.
class Chunker {
  public:
    explicit Chunker(uint32_t seed) : state_(seed * 2654435761u + 0x9E3779B9u) {
        if (state_ == 0) state_ = 1;  // xorshift's one fixed point
    }
    uint32_t next_random();
    // Size of the next chunk of a stream with `remaining` bytes left (0 only when remaining is 0).
    std::size_t next(std::size_t remaining);

  private:
    uint32_t state_;
};

std::string hex_prefix(ByteView b, std::size_t max = 64);

}  // namespace rdpbridge::fuzz

#define RDPBRIDGE_FUZZ_TARGET(name)                                                              \
    static void name##_body(::rdpbridge::rdp::ByteView input);                                   \
    [[maybe_unused]] static const ::rdpbridge::fuzz::Register name##_registration{#name,         \
                                                                                  &name##_body}; \
    static void name##_body(::rdpbridge::rdp::ByteView input)

// An oracle: `detail` is evaluated only when the condition fails.
#define FUZZ_CHECK(condition, detail)                                                  \
    do {                                                                               \
        if (!(condition))                                                              \
            ::rdpbridge::fuzz::check_failed(__FILE__, __LINE__, #condition, (detail)); \
    } while (0)
