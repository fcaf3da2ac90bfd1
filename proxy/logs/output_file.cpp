#include "proxy/logs/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rdpbridge::logs {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

// The process umask, read the only way POSIX offers (set and restore); `logs` is
// single-threaded, so nothing creates a file in between.
mode_t current_umask() {
    const mode_t mask = ::umask(077);
    ::umask(mask);
    return mask;
}

}  // namespace

std::optional<std::string> write_file_atomically(const std::filesystem::path& path,
                                                 std::string_view text) {
    // mkstemp: a new name every time, created O_EXCL, so nothing planted there is written to.
    std::string temp = path.string() + ".XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0)
        return "cannot create a temporary file beside " + path.string() + ": " + errno_text();
    const auto fail = [&](const std::string& what) {
        const std::string why = what + ": " + errno_text();
        ::close(fd);
        ::unlink(temp.c_str());
        return std::optional<std::string>(why);
    };
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("cannot write " + temp);
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, 0666 & ~current_umask()) != 0) return fail("cannot set the mode of " + temp);
    if (::fsync(fd) != 0) return fail("cannot sync " + temp);
    if (::close(fd) != 0) {
        const std::string why = "cannot write " + temp + ": " + errno_text();
        ::unlink(temp.c_str());
        return why;
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const std::string why =
            "cannot rename " + temp + " to " + path.string() + ": " + errno_text();
        ::unlink(temp.c_str());
        return why;
    }
    return std::nullopt;
}

}  // namespace rdpbridge::logs
