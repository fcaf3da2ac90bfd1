// Reading log files: plain, gzip, broken, and followed across rotation and truncation. Real
// files in a private temporary directory; polls are explicit calls, so nothing waits.
#include <gtest/gtest.h>
#include <zlib.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "proxy/logs/follow.hpp"
#include "proxy/logs/output_file.hpp"
#include "proxy/logs/reader.hpp"

using namespace rdpbridge::logs;
namespace fs = std::filesystem;

namespace {

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "rdpbridge-logs-test-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() { fs::remove_all(path_); }
    fs::path operator/(const char* name) const { return path_ / name; }

  private:
    fs::path path_;
};

void write(const fs::path& p, const std::string& text, std::ios::openmode mode = std::ios::trunc) {
    std::ofstream(p, std::ios::binary | mode) << text;
}

void append(const fs::path& p, const std::string& text) {
    write(p, text, std::ios::app);
}

void write_gz(const fs::path& p, const std::string& text) {
    gzFile f = gzopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, text.data(), unsigned(text.size())), int(text.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
}

// Collects "number:text" (or "number:TOO LONG"; " (no newline)" for the unterminated) of
// every line delivered.
struct Collect {
    std::vector<std::string> lines;
    LineFn fn() {
        return [this](const Line& l) {
            lines.push_back(std::to_string(l.number) + ":" +
                            (l.too_long ? std::string("TOO LONG") : std::string(l.text)) +
                            (l.unterminated ? " (no newline)" : ""));
        };
    }
    std::vector<std::string> take() { return std::exchange(lines, {}); }
};

using Lines = std::vector<std::string>;

}  // namespace

TEST(LogsLineSplitter, JoinsPiecesStripsCrAndBoundsLongLines) {
    LineSplitter s(10);
    Collect c;
    s.feed("ab", c.fn());
    s.feed("c\r\nde", c.fn());
    s.feed("f\n", c.fn());
    s.feed("0123456789ABCDEF", c.fn());  // over the bound before its newline arrives
    s.feed("GHI\nok\n\n", c.fn());
    s.feed("tail", c.fn());
    EXPECT_EQ(c.take(), (Lines{"1:abc", "2:def", "3:TOO LONG", "4:ok", "5:"}));
    s.finish(c.fn());
    EXPECT_EQ(c.take(), (Lines{"6:tail (no newline)"}));
}

TEST(LogsReader, ReadsPlainFilesWithOrWithoutAFinalNewline) {
    TempDir dir;
    write(dir / "a.jsonl", "one\r\ntwo\nthree");
    Collect c;
    EXPECT_EQ(read_lines(dir / "a.jsonl", c.fn()), std::nullopt);
    EXPECT_EQ(c.take(), (Lines{"1:one", "2:two", "3:three (no newline)"}));
}

TEST(LogsReader, ReadsGzipCompressedFiles) {
    TempDir dir;
    std::string big;
    for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + "\n";  // many buffers
    write_gz(dir / "h.1.jsonl.gz", big);
    Collect c;
    EXPECT_EQ(read_lines(dir / "h.1.jsonl.gz", c.fn()), std::nullopt);
    ASSERT_EQ(c.lines.size(), 20000u);
    EXPECT_EQ(c.lines.front(), "1:line 0");
    EXPECT_EQ(c.lines.back(), "20000:line 19999");
}

TEST(LogsReader, ReportsFilesItCannotRead) {
    TempDir dir;
    Collect c;
    EXPECT_NE(read_lines(dir / "missing.jsonl", c.fn()), std::nullopt);
    fs::create_directory(dir / "adir");
    EXPECT_NE(read_lines(dir / "adir", c.fn()), std::nullopt);

    std::string big;
    for (int i = 0; i < 5000; ++i) big += "line " + std::to_string(i) + "\n";
    write_gz(dir / "full.gz", big);
    std::ifstream in(dir / "full.gz", std::ios::binary);
    std::string gz((std::istreambuf_iterator<char>(in)), {});
    write(dir / "cut.gz", gz.substr(0, gz.size() / 2));  // rotation interrupted mid-compress
    const auto error = read_lines(dir / "cut.gz", c.fn());
    ASSERT_NE(error, std::nullopt);
    EXPECT_NE(error->find("unexpected end of file"), std::string::npos) << *error;
}

TEST(LogsFollower, DeliversCompleteLinesAsTheyArrive) {
    TempDir dir;
    const auto log = dir / "handshake.jsonl";
    write(log, "a\nb\n");
    Follower f(log);
    Collect c;
    EXPECT_EQ(f.poll(c.fn()), std::nullopt);
    EXPECT_EQ(c.take(), (Lines{"1:a", "2:b"}));
    EXPECT_EQ(f.poll(c.fn()), std::nullopt);
    EXPECT_EQ(c.take(), Lines{});
    append(log, "c\nhal");  // the writer is mid-line
    f.poll(c.fn());
    EXPECT_EQ(c.take(), (Lines{"3:c"}));
    append(log, "f\n");
    f.poll(c.fn());
    EXPECT_EQ(c.take(), (Lines{"4:half"}));
}

TEST(LogsFollower, FollowsTheNewFileAfterRotationWithoutLosingTheOldOnesEnd) {
    TempDir dir;
    const auto log = dir / "handshake.jsonl";
    write(log, "old1\n");
    Follower f(log);
    Collect c;
    f.poll(c.fn());
    EXPECT_EQ(c.take(), (Lines{"1:old1"}));
    append(log, "old2\n");  // written just before the rename
    fs::rename(log, dir / "handshake.1.jsonl");
    f.poll(c.fn());  // between rename and re-creation: keeps the old file
    EXPECT_EQ(c.take(), (Lines{"2:old2"}));
    write(log, "new1\nnew2\n");
    f.poll(c.fn());
    EXPECT_EQ(c.take(), (Lines{"1:new1", "2:new2"}));
    append(log, "new3\n");
    f.poll(c.fn());
    EXPECT_EQ(c.take(), (Lines{"3:new3"}));
}

TEST(LogsFollower, StartsOverWhenTheFileIsTruncatedInPlace) {
    TempDir dir;
    const auto log = dir / "handshake.jsonl";
    write(log, "first line\nsecond line\n");
    Follower f(log);
    Collect c;
    f.poll(c.fn());
    c.take();
    write(log, "again\n");  // copytruncate, then the gateway writes on
    f.poll(c.fn());
    EXPECT_EQ(c.take(), (Lines{"1:again"}));
}

TEST(LogsFollower, FailsOnlyWhenTheFileWasNeverThere) {
    TempDir dir;
    Collect c;
    Follower missing(dir / "nope.jsonl");
    EXPECT_NE(missing.poll(c.fn()), std::nullopt);

    const auto log = dir / "handshake.jsonl";
    write(log, "x\n");
    Follower f(log);
    EXPECT_EQ(f.poll(c.fn()), std::nullopt);
    fs::remove(log);
    EXPECT_EQ(f.poll(c.fn()), std::nullopt);  // waits for the gateway to create it again
}

namespace {

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::size_t entries(const TempDir& dir) {
    const auto d = (dir / ".").parent_path();
    return std::size_t(std::distance(fs::directory_iterator(d), fs::directory_iterator()));
}

}  // namespace

TEST(LogsOutputFile, WritesAndReplacesWholeWithAShellsMode) {
    TempDir dir;
    const auto out = dir / "report.html";
    EXPECT_EQ(write_file_atomically(out, "first"), std::nullopt);
    EXPECT_EQ(read_all(out), "first");
    write(dir / "other", "x");
    fs::create_symlink(dir / "other", dir / "link.html");
    EXPECT_EQ(write_file_atomically(dir / "link.html", "second"), std::nullopt);
    EXPECT_EQ(read_all(dir / "other"), "x");  // the link was replaced, its target untouched
    EXPECT_FALSE(fs::is_symlink(dir / "link.html"));
    EXPECT_EQ(read_all(dir / "link.html"), "second");
    struct stat st {};
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    const mode_t mask = ::umask(0);
    ::umask(mask);
    EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
    EXPECT_EQ(entries(dir), 3u);  // no temporary file left
}

TEST(LogsOutputFile, AFailureSaysWhyAndLeavesNothing) {
    TempDir dir;
    const auto error = write_file_atomically(dir / "missing" / "report.html", "x");
    ASSERT_NE(error, std::nullopt);
    EXPECT_NE(error->find("missing/report.html"), std::string::npos) << *error;
    fs::create_directory(dir / "taken.html");  // a directory where the file should go
    ASSERT_NE(write_file_atomically(dir / "taken.html", "x"), std::nullopt);
    EXPECT_EQ(entries(dir), 1u);
}
