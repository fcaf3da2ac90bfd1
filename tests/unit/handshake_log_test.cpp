// The handshake log's writer: events from several loops end up as one JSON line each, "ts"
// first, nothing lost or torn, in each loop's order; flush() means "in the file now".
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "proxy/handshake_log.hpp"

namespace rdpbridge::proxy {
namespace {

class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "handshake-log-XXXXXX").string();
        path_ = mkdtemp(pattern.data());
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

std::vector<Json> read_lines(const std::filesystem::path& file) {
    std::vector<Json> lines;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
        EXPECT_TRUE(line.starts_with("{\"ts\":\"")) << line;
        lines.push_back(Json::parse(line));
    }
    return lines;
}

TEST(HandshakeLog, EveryEventFromEveryThreadIsOneLineInItsThreadsOrder) {
    TempDir dir;
    const auto file = dir.path() / "handshake.jsonl";
    constexpr int kThreads = 4, kEach = 2000;  // below the queue's bound: nothing may be dropped
    {
        HandshakeLog log(file, "error");  // stderr quiet: the file is what is checked
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&log, t] {
                for (int i = 0; i < kEach; ++i)
                    log.write(Json{{"event", "stage"}, {"thread", t}, {"i", i}});
            });
        }
        for (auto& thread : threads) thread.join();
        log.flush();
        // flush() returned: every line is in the file already, before the log is destroyed.
        const auto lines = read_lines(file);
        ASSERT_EQ(lines.size(), std::size_t(kThreads * kEach));
        std::map<int, int> next;
        for (const auto& line : lines) {
            EXPECT_EQ(line.begin().key(), "ts");
            const int t = line["thread"], i = line["i"];
            EXPECT_EQ(i, next[t]++) << "thread " << t << " out of order";
        }
        EXPECT_EQ(log.dropped(), 0u);
    }
}

TEST(HandshakeLog, EventsWrittenJustBeforeDestructionAreNotLost) {
    TempDir dir;
    const auto file = dir.path() / "handshake.jsonl";
    {
        HandshakeLog log(file, "error");
        for (int i = 0; i < 100; ++i) log.write(Json{{"event", "stage"}, {"i", i}});
    }
    EXPECT_EQ(read_lines(file).size(), 100u);
}

TEST(HandshakeLog, AnEmptyEventStillGetsItsTimestamp) {
    TempDir dir;
    const auto file = dir.path() / "handshake.jsonl";
    HandshakeLog log(file, "error");
    log.write(Json::object());
    log.flush();
    const auto lines = read_lines(file);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].size(), 1u);
    EXPECT_TRUE(lines[0].contains("ts"));
}

TEST(HandshakeLog, ObserverSeesEachEventOnTheWritingThread) {
    TempDir dir;
    HandshakeLog log(dir.path() / "handshake.jsonl", "error");
    std::vector<std::string> seen;
    const auto self = std::this_thread::get_id();
    log.observe([&](const Json& e) {
        EXPECT_EQ(std::this_thread::get_id(), self);
        seen.push_back(e.value("event", ""));
    });
    log.write(Json{{"event", "connection_accepted"}});
    log.write(Json{{"event", "session_closed"}});
    log.observe(nullptr);
    EXPECT_EQ(seen, (std::vector<std::string>{"connection_accepted", "session_closed"}));
}

}  // namespace
}  // namespace rdpbridge::proxy
