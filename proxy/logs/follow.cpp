#include "proxy/logs/follow.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace rdpbridge::logs {

Follower::~Follower() {
    close_file();
}

void Follower::close_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::optional<std::string> Follower::open_file() {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::strerror(errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
        ::close(fd);
        return std::strerror(err);
    }
    fd_ = fd;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    offset_ = 0;
    ever_opened_ = true;
    splitter_.reset();
    return std::nullopt;
}

void Follower::read_available(const LineFn& on_line) {
    std::array<char, 64 * 1024> buf;
    for (;;) {
        const ssize_t n = ::read(fd_, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // EOF for now, or an error the next poll retries
        offset_ += n;
        splitter_.feed(std::string_view(buf.data(), std::size_t(n)), on_line);
    }
}

bool Follower::replaced() const {
    struct stat st {};
    // A missing path is a rotation in progress: keep the old file until the new one appears.
    if (::stat(path_.c_str(), &st) != 0) return false;
    return st.st_ino != ino_ || st.st_dev != dev_;
}

bool Follower::truncated() const {
    struct stat st {};
    return ::fstat(fd_, &st) == 0 && st.st_size < offset_;
}

std::optional<std::string> Follower::poll(const LineFn& on_line) {
    if (fd_ < 0) {
        auto error = open_file();
        if (error) return ever_opened_ ? std::nullopt : error;
    }
    read_available(on_line);
    if (truncated()) {
        // Lines written after the truncation but before this poll began at offset 0.
        ::lseek(fd_, 0, SEEK_SET);
        offset_ = 0;
        splitter_.reset();
        read_available(on_line);
    } else if (replaced()) {
        // The writer finished the old file before renaming it: drain it, then switch.
        read_available(on_line);
        splitter_.finish(on_line);
        close_file();
        if (!open_file()) read_available(on_line);
    }
    return std::nullopt;
}

}  // namespace rdpbridge::logs
