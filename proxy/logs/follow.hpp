// Tailing the live handshake log for `rdpbridge logs --follow`, across rotation: the gateway
// renames handshake.jsonl to handshake.1.jsonl and starts a new file (a new inode), and
// logrotate's copytruncate shrinks the file in place. Plain POSIX reads polled by the caller —
// no inotify, so it also works on network filesystems.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "proxy/logs/line_splitter.hpp"

namespace rdpbridge::logs {

class Follower {
  public:
    explicit Follower(std::filesystem::path path) : path_(std::move(path)) {}
    ~Follower();
    Follower(const Follower&) = delete;
    Follower& operator=(const Follower&) = delete;

    // Delivers every complete line appended since the previous call (the whole file on the
    // first). Returns an error only if the file has never been opened; once following, a file
    // missing for a moment during rotation is waited for.
    std::optional<std::string> poll(const LineFn& on_line);

    const std::filesystem::path& path() const { return path_; }

  private:
    std::optional<std::string> open_file();
    void read_available(const LineFn& on_line);
    bool replaced() const;   // the path now names another file (rotated)
    bool truncated() const;  // the open file shrank below what was read (copytruncate)
    void close_file();

    std::filesystem::path path_;
    int fd_ = -1;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    off_t offset_ = 0;
    bool ever_opened_ = false;
    LineSplitter splitter_;
};

}  // namespace rdpbridge::logs
