#include "proxy/logs/reader.hpp"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace rdpbridge::logs {

namespace {

struct GzClose {
    void operator()(gzFile f) const { gzclose(f); }
};

// zlib reports its own errors as text and system errors through errno.
std::string gz_error_text(gzFile f) {
    int code = Z_OK;
    const char* msg = gzerror(f, &code);
    if (code == Z_ERRNO) return std::strerror(errno);
    return msg && *msg ? msg : "read error";
}

}  // namespace

std::optional<std::string> read_lines(const std::filesystem::path& path, const LineFn& on_line) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return "is a directory";
    // gzopen reads plain files transparently, so one loop serves both kinds.
    std::unique_ptr<gzFile_s, GzClose> file(gzopen(path.c_str(), "rb"));
    if (!file) return std::strerror(errno ? errno : ENOMEM);
    gzbuffer(file.get(), 128 * 1024);

    LineSplitter splitter;
    std::array<char, 64 * 1024> buf;
    for (;;) {
        const int n = gzread(file.get(), buf.data(), unsigned(buf.size()));
        if (n < 0) return gz_error_text(file.get());
        if (n == 0) break;
        splitter.feed(std::string_view(buf.data(), std::size_t(n)), on_line);
    }
    // A gzip stream cut short ends in a clean-looking EOF; zlib flags it only here.
    int code = Z_OK;
    gzerror(file.get(), &code);
    if (code != Z_OK) return gz_error_text(file.get());
    splitter.finish(on_line);
    return std::nullopt;
}

}  // namespace rdpbridge::logs
