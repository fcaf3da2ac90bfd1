// Cuts a byte stream into lines, for both whole-file reading and --follow, where a line may
// arrive in pieces. Bounded: a "line" that never ends (a log file corrupted into a run of NUL
// bytes by a crash) is reported once as too long instead of growing without limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rdpbridge::logs {

struct Line {
    std::string_view text;  // without "\n" or "\r\n"; empty when too_long
    std::uint64_t number;   // 1-based
    bool too_long;
    bool unterminated;  // the data ended without a newline: maybe still being written
};
using LineFn = std::function<void(const Line&)>;

class LineSplitter {
  public:
    // Real handshake lines are under 4 KiB; 1 MiB leaves room for anything a gateway writes.
    static constexpr std::size_t kMaxLine = 1 << 20;

    explicit LineSplitter(std::size_t max_line = kMaxLine) : max_line_(max_line) {}

    // Calls on_line for every line completed by `bytes`; keeps an unfinished tail.
    void feed(std::string_view bytes, const LineFn& on_line);
    // Delivers the unfinished tail as a last line (a file not ending in a newline).
    void finish(const LineFn& on_line);
    // Forgets the tail and starts numbering at 1 again (a new or truncated file).
    void reset();

  private:
    void emit(std::string_view text, bool unterminated, const LineFn& on_line);

    std::size_t max_line_;
    std::string partial_;
    bool overflow_ = false;
    std::uint64_t number_ = 0;
};

}  // namespace rdpbridge::logs
