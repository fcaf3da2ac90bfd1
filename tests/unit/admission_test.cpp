// Every admission bound, driven by a clock the test holds: no sockets, no sleeps.
#include <gtest/gtest.h>

#include <string>

#include "config/cidr.hpp"
#include "config/config.hpp"
#include "proxy/admission.hpp"

using namespace rdpbridge;
using proxy::Admission;
using proxy::source_key;
using rdp::Cause;
using std::chrono::milliseconds;

namespace {

const Admission::Clock::time_point kT0{std::chrono::hours(1)};

// Limits wide enough that a test meets only the one bound it is about.
config::Limits wide() {
    config::Limits l;
    l.max_sessions = 1000;
    l.max_handshakes = 1000;
    l.max_handshakes_per_source = 1000;
    l.max_sessions_per_source = 1000;
    l.connections_per_second_per_source = 1000;
    return l;
}

std::string cause_of(const std::optional<rdp::Failure>& f) {
    return f ? std::string(rdp::describe(f->cause).id) : "admitted";
}

TEST(AdmissionSourceKey, Ipv4IsPerAddress) {
    EXPECT_EQ(source_key("192.0.2.7", 64), "192.0.2.7");
    EXPECT_EQ(source_key("192.0.2.7", 1), "192.0.2.7");
}

TEST(AdmissionSourceKey, Ipv4MappedIsIpv4) {
    EXPECT_EQ(source_key("::ffff:192.0.2.7", 64), "192.0.2.7");
    EXPECT_EQ(source_key("::FFFF:c000:0207", 48), "192.0.2.7");
}

TEST(AdmissionSourceKey, Ipv6IsItsPrefix) {
    EXPECT_EQ(source_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64), "2001:db8:1:2::/64");
    EXPECT_EQ(source_key("2001:db8:1:2::1", 64), "2001:db8:1:2::/64");
    EXPECT_EQ(source_key("2001:db8:1:2::1", 48), "2001:db8:1::/48");
    EXPECT_EQ(source_key("2001:db8:1:2::1", 56), "2001:db8:1::/56");
    EXPECT_EQ(source_key("2001:db8:1:2ff::1", 56), "2001:db8:1:200::/56");
    EXPECT_EQ(source_key("2001:db8:1:2::1", 1), "::/1");
    EXPECT_EQ(source_key("2001:DB8::0001", 128), "2001:db8::1");
    EXPECT_EQ(source_key("fe80::1%eth0", 64), "fe80::/64");
}

TEST(AdmissionSourceKey, UnparsableIsKeptAsGiven) {
    EXPECT_EQ(source_key("?", 64), "?");
    EXPECT_EQ(source_key("", 64), "");
}

TEST(Admission, TokenBucketAllowsOneSecondsBurstThenRefills) {
    auto limits = wide();
    limits.connections_per_second_per_source = 4;
    Admission a(limits);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(cause_of(a.admit("192.0.2.7", kT0)), "admitted") << i;
        a.finished("192.0.2.7", false);
    }
    const auto refused = a.admit("192.0.2.7", kT0);
    EXPECT_EQ(cause_of(refused), "rate_limited");
    EXPECT_NE(refused->detail.find("faster than 4 per second"), std::string::npos);
    // Another source has its own bucket.
    EXPECT_EQ(cause_of(a.admit("192.0.2.8", kT0)), "admitted");
    // A quarter of a second buys one token back, not two.
    EXPECT_EQ(cause_of(a.admit("192.0.2.7", kT0 + milliseconds(250))), "admitted");
    EXPECT_EQ(cause_of(a.admit("192.0.2.7", kT0 + milliseconds(250))), "rate_limited");
    // A long pause refills to the burst, never beyond it.
    const auto later = kT0 + std::chrono::seconds(60);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(cause_of(a.admit("192.0.2.7", later)), "admitted") << i;
    EXPECT_EQ(cause_of(a.admit("192.0.2.7", later)), "rate_limited");
}

TEST(Admission, MaxHandshakesCountsEverySource) {
    auto limits = wide();
    limits.max_handshakes = 3;
    Admission a(limits);
    EXPECT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "admitted");
    EXPECT_EQ(cause_of(a.admit("192.0.2.2", kT0)), "admitted");
    EXPECT_EQ(cause_of(a.admit("192.0.2.3", kT0)), "admitted");
    const auto refused = a.admit("192.0.2.4", kT0);
    EXPECT_EQ(cause_of(refused), "limit_handshakes");
    EXPECT_NE(refused->detail.find("3 handshakes in progress; the limit is 3"), std::string::npos);
    EXPECT_EQ(a.handshakes(), 3u);
    // An established session frees its handshake slot.
    a.established("192.0.2.1");
    EXPECT_EQ(cause_of(a.admit("192.0.2.4", kT0)), "admitted");
}

TEST(Admission, MaxHandshakesPerSourceLeavesSlotsForOthers) {
    auto limits = wide();
    limits.max_handshakes = 8;
    limits.max_handshakes_per_source = 2;
    Admission a(limits);
    EXPECT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "admitted");
    EXPECT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "admitted");
    const auto refused = a.admit("192.0.2.1", kT0);
    EXPECT_EQ(cause_of(refused), "limit_handshakes_per_source");
    EXPECT_NE(refused->detail.find("192.0.2.1 already has 2 handshake(s) in progress; the limit "
                                   "is 2 ([limits] max_handshakes_per_source)"),
              std::string::npos)
        << refused->detail;
    EXPECT_EQ(cause_of(a.admit("192.0.2.2", kT0)), "admitted");
    // Established sessions do not count against it: that is max_sessions_per_source's job.
    a.established("192.0.2.1");
    EXPECT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "admitted");
    EXPECT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "limit_handshakes_per_source");
}

// The case: silent sources each holding their share cannot take every slot.
TEST(Admission, SilentSourcesCannotTakeEveryDefaultSlot) {
    config::Limits limits;  // the defaults: 256 handshakes, 32 per source
    limits.connections_per_second_per_source = 1000;
    ASSERT_EQ(limits.max_handshakes_per_source,
              config::default_handshakes_per_source(limits.max_handshakes));
    Admission a(limits);
    for (int source = 0; source < 6; ++source) {
        const std::string ip = "198.51.100." + std::to_string(source);
        for (int i = 0; i < 64; ++i) a.admit(ip, kT0);
    }
    EXPECT_EQ(a.handshakes(), 6u * 32);
    EXPECT_EQ(cause_of(a.admit("192.0.2.99", kT0)), "admitted");
}

TEST(Admission, MaxSessionsCountsEverySource) {
    auto limits = wide();
    limits.max_sessions = 2;
    Admission a(limits);
    for (const char* ip : {"192.0.2.1", "192.0.2.2"}) {
        ASSERT_EQ(cause_of(a.admit(ip, kT0)), "admitted");
        a.established(ip);
    }
    EXPECT_EQ(a.sessions(), 2u);
    const auto refused = a.admit("192.0.2.3", kT0);
    EXPECT_EQ(cause_of(refused), "limit_sessions");
    EXPECT_NE(refused->detail.find("2 sessions established; the limit is 2"), std::string::npos);
    a.finished("192.0.2.1", true);
    EXPECT_EQ(cause_of(a.admit("192.0.2.3", kT0)), "admitted");
}

TEST(Admission, MaxSessionsPerSourceCountsSessionsAndHandshakes) {
    auto limits = wide();
    limits.max_sessions_per_source = 2;
    Admission a(limits);
    ASSERT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "admitted");
    a.established("192.0.2.1");
    ASSERT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "admitted");  // still in its handshake
    const auto refused = a.admit("192.0.2.1", kT0);
    EXPECT_EQ(cause_of(refused), "limit_sessions_per_source");
    EXPECT_NE(refused->detail.find("1 session(s) and 1 handshake(s)"), std::string::npos);
    EXPECT_EQ(cause_of(a.admit("192.0.2.2", kT0)), "admitted");
    a.finished("192.0.2.1", false);
    EXPECT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "admitted");
}

TEST(Admission, Ipv6SourcesShareTheirSlash64) {
    auto limits = wide();
    limits.max_handshakes_per_source = 2;
    Admission a(limits);
    EXPECT_EQ(cause_of(a.admit("2001:db8:1:2::1", kT0)), "admitted");
    EXPECT_EQ(cause_of(a.admit("2001:db8:1:2::2", kT0)), "admitted");
    const auto refused = a.admit("2001:db8:1:2:ffff::3", kT0);
    EXPECT_EQ(cause_of(refused), "limit_handshakes_per_source");
    EXPECT_NE(refused->detail.find("2001:db8:1:2:ffff::3 (counted as 2001:db8:1:2::/64, [limits] "
                                   "ipv6_source_prefix)"),
              std::string::npos)
        << refused->detail;
    // The neighbouring /64 is another source.
    EXPECT_EQ(cause_of(a.admit("2001:db8:1:3::1", kT0)), "admitted");
    // Bookkeeping finds the group from any of its addresses.
    a.finished("2001:db8:1:2::2", false);
    EXPECT_EQ(cause_of(a.admit("2001:db8:1:2::9", kT0)), "admitted");
}

TEST(Admission, Ipv6GroupingAppliesToRateAndSessions) {
    auto limits = wide();
    limits.connections_per_second_per_source = 2;
    limits.max_sessions_per_source = 1;
    Admission a(limits);
    ASSERT_EQ(cause_of(a.admit("2001:db8::a", kT0)), "admitted");
    a.established("2001:db8::a");
    EXPECT_EQ(cause_of(a.admit("2001:db8::b", kT0)), "limit_sessions_per_source");
    EXPECT_EQ(cause_of(a.admit("2001:db8::c", kT0)), "rate_limited");
}

TEST(Admission, Ipv6PrefixIsConfigurable) {
    auto limits = wide();
    limits.max_handshakes_per_source = 1;
    limits.ipv6_source_prefix = 128;
    Admission a(limits);
    EXPECT_EQ(cause_of(a.admit("2001:db8::1", kT0)), "admitted");
    EXPECT_EQ(cause_of(a.admit("2001:db8::2", kT0)), "admitted");
    EXPECT_EQ(cause_of(a.admit("2001:db8::1", kT0)), "limit_handshakes_per_source");
}

TEST(Admission, Ipv4MappedAndPlainIpv4AreOneSource) {
    auto limits = wide();
    limits.max_handshakes_per_source = 1;
    Admission a(limits);
    EXPECT_EQ(cause_of(a.admit("192.0.2.7", kT0)), "admitted");
    EXPECT_EQ(cause_of(a.admit("::ffff:192.0.2.7", kT0)), "limit_handshakes_per_source");
    a.finished("::ffff:192.0.2.7", false);
    EXPECT_EQ(a.handshakes(), 0u);
}

TEST(Admission, BookkeepingReturnsToZero) {
    auto limits = wide();
    Admission a(limits);
    const char* sources[] = {"192.0.2.1", "2001:db8::1", "::ffff:192.0.2.2", "2001:db8:0:1::2"};
    for (const char* s : sources) ASSERT_EQ(cause_of(a.admit(s, kT0)), "admitted") << s;
    EXPECT_EQ(a.handshakes(), 4u);
    a.established(sources[0]);
    a.established(sources[1]);
    EXPECT_EQ(a.handshakes(), 2u);
    EXPECT_EQ(a.sessions(), 2u);
    a.finished(sources[0], true);
    a.finished(sources[1], true);
    a.finished(sources[2], false);
    a.finished(sources[3], false);
    EXPECT_EQ(a.handshakes(), 0u);
    EXPECT_EQ(a.sessions(), 0u);
    // Unbalanced calls never drive a count below zero or touch another source's counts.
    a.finished(sources[0], true);
    a.finished(sources[0], false);
    a.established(sources[0]);
    a.finished("203.0.113.9", false);
    EXPECT_EQ(a.handshakes(), 0u);
    EXPECT_EQ(a.sessions(), 0u);
    // And the per-source counts are back to zero too: each source gets its full share again.
    limits.max_handshakes_per_source = 1;
    limits.max_sessions_per_source = 1;
    for (const char* s : sources) EXPECT_EQ(cause_of(a.admit(s, kT0)), "admitted") << s;
}

TEST(Admission, ManySourcesArePrunedWithoutLosingLiveOnes) {
    auto limits = wide();
    limits.max_handshakes = 100000;
    limits.max_handshakes_per_source = 1;
    Admission a(limits);
    ASSERT_EQ(cause_of(a.admit("192.0.2.1", kT0)), "admitted");  // stays in its handshake
    for (int i = 0; i < 5000; ++i) {
        const std::string ip = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
        ASSERT_EQ(cause_of(a.admit(ip, kT0)), "admitted");
        a.finished(ip, false);
    }
    // Past the prune threshold an idle source is forgotten, the live one is not.
    EXPECT_EQ(cause_of(a.admit("192.0.2.1", kT0 + std::chrono::seconds(10))),
              "limit_handshakes_per_source");
    EXPECT_EQ(a.handshakes(), 1u);
}

}  // namespace

// The listener's address checks, shared by accept and by the PROXY path (the balancer's header
// names the client; the balancer itself must be listed).
TEST(SourceCheck, AllowDenyAndTheBalancerList) {
    config::Listener l;
    l.name = "lb";
    EXPECT_FALSE(proxy::source_check(l, "192.0.2.7"));  // no lists: everyone
    l.allow = {*config::parse_cidr("192.0.2.0/24")};
    l.deny = {*config::parse_cidr("192.0.2.66")};
    EXPECT_FALSE(proxy::source_check(l, "192.0.2.7"));
    EXPECT_EQ(proxy::source_check(l, "192.0.2.66")->cause, Cause::source_not_allowed);
    EXPECT_EQ(proxy::source_check(l, "198.51.100.1")->cause, Cause::source_not_allowed);
    // No balancer listed admits none; a listed one passes, others are refused.
    EXPECT_EQ(proxy::proxy_source_check(l, "10.0.0.5")->cause, Cause::proxy_source_not_allowed);
    l.proxy_protocol_from = {*config::parse_cidr("10.0.0.5/32")};
    EXPECT_FALSE(proxy::proxy_source_check(l, "10.0.0.5"));
    EXPECT_EQ(proxy::proxy_source_check(l, "10.0.0.6")->cause, Cause::proxy_source_not_allowed);
}
