// The status page's memory of the log: backend states, failures per cause over time, the newest
// failures; bounded however many events come. Time is passed in.
#include "proxy/status_board.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "proxy/status_page.hpp"
#include "temp_dir.hpp"

#include "proxy/logs/review_builder.hpp"

using namespace rdpbridge;
using proxy::Json;
using proxy::StatusBoard;
using namespace std::chrono_literals;
namespace config = rdpbridge::config;

namespace {

// 2026-12-05T10:30:00Z
const StatusBoard::Clock::time_point kT0{std::chrono::seconds(1796466600)};

Json established(const std::string& backend) {
    auto e = Json::parse(R"({"event":"session_established",
        "front":{"tls_version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","selected":"SSL"},
        "back":{"tls_version":"TLSv1","cipher":"AES256-SHA","selected":"SSL","cert_days_left":40}})");
    e["backend"] = backend;
    return e;
}

Json failed(const std::string& backend, const std::string& cause,
            const std::string& stage = "backend_tls") {
    return Json{{"conn", cause},     {"event", "handshake_failed"},   {"stage", stage},
                {"cause", cause},    {"explanation", "why " + cause}, {"hint", "fix " + cause},
                {"backend", backend}};
}

const review::Timeline::Series* series(const review::Timeline& t, const std::string& cause) {
    for (const auto& s : t.by_cause)
        if (s.cause == cause) return &s;
    return nullptr;
}

TEST(StatusBoard, BackendStatesFollowTheLastOutcome) {
    StatusBoard board;
    board.on_event(established("w7"), kT0);
    board.on_event(established("xp"), kT0);
    board.on_event(failed("xp", "host_tls_failed"), kT0 + 1min);
    board.on_event(failed("nt4", "host_unreachable", "backend_connect"), kT0 + 2min);
    const auto r = board.review(kT0 + 3min, {"xp", "w7", "plc"});
    ASSERT_EQ(r.backends.size(), 4u);  // configured first, in their order; then the log's others
    EXPECT_EQ(r.backends[0].name, "xp");
    EXPECT_EQ(r.backends[0].state, "failing");
    ASSERT_TRUE(r.backends[0].last_failure);
    EXPECT_EQ(r.backends[0].last_failure->cause, "host_tls_failed");
    EXPECT_EQ(r.backends[0].last_failure->fix, "fix host_tls_failed");
    EXPECT_EQ(r.backends[1].state, "ok");
    EXPECT_EQ(r.backends[1].back_security, "TLS 1.0 AES256-SHA");
    EXPECT_EQ(r.backends[1].front_security, "TLS 1.3 TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(r.backends[2].state, "never reached");
    EXPECT_EQ(r.backends[3].name, "nt4");
    // A success after the failure puts the backend back to ok.
    board.on_event(established("xp"), kT0 + 4min);
    EXPECT_EQ(board.review(kT0 + 5min, {"xp"}).backends[0].state, "ok");
}

TEST(StatusBoard, CertificateDaysCountDownFromWhenTheyWereSeen) {
    StatusBoard board;
    board.on_event(established("w7"), kT0);
    EXPECT_EQ(board.review(kT0, {}).backends[0].cert_days_left, 40);
    EXPECT_EQ(board.review(kT0 + 72h + 1min, {}).backends[0].cert_days_left, 37);
}

TEST(StatusBoard, FailuresPerCauseInHourlyAndSixHourlyBuckets) {
    StatusBoard board;
    board.on_event(failed("xp", "host_tls_failed"), kT0);
    board.on_event(failed("xp", "host_tls_failed"), kT0 + 10min);
    board.on_event(failed("xp", "host_unreachable"), kT0 - 3h);
    board.on_event(failed("xp", "host_unreachable"), kT0 - 30h);  // only in the 7-day view
    // Refused at accept: admission's, not a handshake failure.
    board.on_event(failed("", "rate_limited", "client_transport"), kT0);
    const auto r = board.review(kT0 + 20min, {});
    ASSERT_EQ(r.timelines.size(), 2u);
    const auto& day = r.timelines[0];
    EXPECT_EQ(day.buckets, 24u);
    EXPECT_EQ(day.bucket_seconds, 3600);
    EXPECT_EQ(day.start, "2026-12-04T11:00:00.000Z");
    const auto* tls = series(day, "host_tls_failed");
    ASSERT_TRUE(tls);
    EXPECT_EQ(tls->counts[23], 2u);
    EXPECT_EQ(tls->total, 2u);
    EXPECT_EQ(day.by_cause.front().cause, "host_tls_failed");  // most frequent first
    EXPECT_EQ(series(day, "host_unreachable")->counts[20], 1u);
    EXPECT_EQ(series(day, "host_unreachable")->total, 1u);
    EXPECT_FALSE(series(day, "rate_limited"));
    const auto& week = r.timelines[1];
    EXPECT_EQ(week.buckets, 28u);
    EXPECT_EQ(week.bucket_seconds, 6 * 3600);
    EXPECT_EQ(week.start, "2026-11-28T12:00:00.000Z");  // 27 buckets before 06:00 today
    EXPECT_EQ(series(week, "host_unreachable")->total, 2u);
    EXPECT_EQ(r.failures_in_window, 4u);
    // A week later nothing of it is left.
    EXPECT_EQ(board.review(kT0 + 24h * 8, {}).failures_in_window, 0u);
}

TEST(StatusBoard, RecentFailuresAreWholeNewestFirstAndBounded) {
    StatusBoard board(3);
    for (int i = 0; i < 10; ++i) {
        auto e = failed("xp", "host_tls_failed");
        e["conn"] = std::to_string(i);
        board.on_event(e, kT0 + std::chrono::seconds(i));
    }
    const auto r = board.review(kT0 + 1min, {});
    ASSERT_EQ(r.recent_failures.size(), 3u);
    EXPECT_EQ(r.recent_failures[0]["conn"], "9");
    EXPECT_EQ(r.recent_failures[0]["ts"], "2026-12-05T10:30:09.000Z");
    EXPECT_FALSE(r.recent_failures[0].contains("detail"));  // as logged, nothing added
    EXPECT_EQ(r.recent_failures[0]["hint"], "fix host_tls_failed");
    EXPECT_EQ(r.failures_in_window, 10u);
}

// After a restart: the week the log and its rotations hold, read oldest file first; older events,
// and every other kind of event, are left out.
TEST(StatusBoard, SeededFromTheLogAndItsRotations) {
    rdpbridge::test_support::TempDir dir{"status_seed"};
    config::Logging logging;
    logging.handshake_log = dir.path() / "handshake.jsonl";
    logging.rotate_files = 2;
    std::ofstream(dir.path() / "handshake.2.jsonl")
        << R"({"ts":"2026-11-20T10:00:00.000Z","conn":"a","event":"handshake_failed","stage":"backend_tls","cause":"host_tls_failed","backend":"xp"})"
        << "\n"
        << R"({"ts":"2026-12-01T10:00:00.000Z","conn":"b","event":"handshake_failed","stage":"backend_tls","cause":"host_tls_failed","backend":"xp"})"
        << "\n";
    std::ofstream(dir.path() / "handshake.1.jsonl")
        << R"({"ts":"2026-12-05T09:00:00.000Z","conn":"c","event":"stage","stage":"routing"})"
        << "\nnot json at all\n";
    std::ofstream(dir.path() / "handshake.jsonl")
        << R"({"ts":"2026-12-05T10:00:00.000Z","conn":"d","event":"session_established","backend":"xp","front":{},"back":{"selected":"RDP","encryption_method":"128BIT"}})"
        << "\n";
    StatusBoard board;
    EXPECT_EQ(proxy::seed_from_log(board, logging, kT0), 2u);
    const auto r = board.review(kT0, {"xp"});
    EXPECT_EQ(r.failures_in_window, 1u);
    EXPECT_EQ(r.backends[0].state, "ok");  // the session came after the failure
    EXPECT_EQ(r.backends[0].last_success, "2026-12-05T10:00:00.000Z");
    ASSERT_EQ(r.recent_failures.size(), 1u);
    EXPECT_EQ(r.recent_failures[0]["conn"], "b");
}

}  // namespace
