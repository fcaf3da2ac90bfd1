// Metrics counted from handshake log events, rendered in Prometheus' text format
// (proxy/metrics.hpp). promtool checks the format end to end (tests/e2e/test_metrics.py).
#include "proxy/metrics.hpp"

#include <gtest/gtest.h>

using rdpbridge::proxy::Json;
using rdpbridge::proxy::Metrics;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST(Metrics, SessionsFailuresAndRefusalsFromEvents) {
    Metrics m("9.9.9");
    m.on_event(Json::parse(R"({"event":"session_established","backend":"xp","handshake_ms":120,
        "back":{"selected":"RDP","encryption_method":"128BIT"}})"));
    m.on_event(Json::parse(R"({"event":"session_established","backend":"w7","handshake_ms":30,
        "back":{"selected":"SSL","tls_version":"TLSv1","cert_not_after":"2030-01-01T00:00:00Z"}})"));
    m.on_event(Json::parse(R"({"event":"session_closed","backend":"xp","closed_by":"client",
        "bytes_client_to_host":100,"bytes_host_to_client":5000})"));
    m.on_event(Json::parse(
        R"({"event":"handshake_failed","backend":"w7","stage":"backend_tls","cause":"host_tls_failed"})"));
    m.on_event(Json::parse(
        R"({"event":"handshake_failed","stage":"client_transport","cause":"rate_limited"})"));
    m.on_event(Json::parse(R"({"event":"refusals_summary","cause":"rate_limited","count":41})"));
    m.on_event(Json::parse(R"({"event":"config_reloaded","generation":3})"));
    m.on_event(Json::parse(R"({"event":"balancer_check","balancer":"10.0.0.5:40000"})"));
    const auto text = m.render();
    // A balancer's health check is counted as such, never as a failure.
    EXPECT_TRUE(has_line(text, "rdpbridge_balancer_checks_total 1"));
    EXPECT_TRUE(has_line(text, "rdpbridge_build_info{version=\"9.9.9\"} 1"));
    EXPECT_TRUE(has_line(text, "rdpbridge_sessions_active{backend=\"xp\"} 0"));
    EXPECT_TRUE(has_line(text, "rdpbridge_sessions_active{backend=\"w7\"} 1"));
    EXPECT_TRUE(has_line(text, "rdpbridge_sessions_total{backend=\"xp\"} 1"));
    EXPECT_TRUE(has_line(
        text, "rdpbridge_relayed_bytes_total{backend=\"xp\",direction=\"host_to_client\"} 5000"));
    EXPECT_TRUE(has_line(text,
                         "rdpbridge_handshake_failures_total{backend=\"w7\",stage=\"backend_tls\","
                         "cause=\"host_tls_failed\"} 1"));
    // Refusals at accept are admission's, not handshake failures; summaries add their counts.
    EXPECT_TRUE(has_line(text, "rdpbridge_admission_refusals_total{reason=\"rate_limited\"} 42"));
    EXPECT_EQ(text.find("stage=\"client_transport\""), std::string::npos);
    // The histogram: 0.12 s is above 0.1 and within 0.25; buckets are cumulative.
    EXPECT_TRUE(
        has_line(text, "rdpbridge_handshake_duration_seconds_bucket{backend=\"xp\",le=\"0.1\"} 0"));
    EXPECT_TRUE(has_line(
        text, "rdpbridge_handshake_duration_seconds_bucket{backend=\"xp\",le=\"0.25\"} 1"));
    EXPECT_TRUE(has_line(
        text, "rdpbridge_handshake_duration_seconds_bucket{backend=\"xp\",le=\"+Inf\"} 1"));
    EXPECT_TRUE(has_line(text, "rdpbridge_handshake_duration_seconds_sum{backend=\"xp\"} 0.12"));
    EXPECT_TRUE(has_line(text,
                         "rdpbridge_backend_security_info{backend=\"xp\",protocol=\"RDP\",tls_"
                         "version=\"none\",rdp_encryption=\"128BIT\"} 1"));
    EXPECT_TRUE(has_line(
        text, "rdpbridge_backend_certificate_expiry_timestamp_seconds{backend=\"w7\"} 1893456000"));
    EXPECT_TRUE(has_line(text, "rdpbridge_config_generation 3"));
    EXPECT_TRUE(has_line(text, "rdpbridge_config_reloads_total{result=\"success\"} 1"));
}

TEST(Metrics, ChannelPolicyRefusalsPerBackend) {
    Metrics m("9.9.9");
    m.on_event(Json::parse(R"({"event":"session_closed","backend":"press","closed_by":"client",
        "devices_refused":1,"channel_pdus_dropped":3})"));
    m.on_event(Json::parse(R"({"event":"session_closed","backend":"press","closed_by":"client",
        "devices_refused":2,"channel_pdus_dropped":0})"));
    m.on_event(
        Json::parse(R"({"event":"session_closed","backend":"office","closed_by":"client"})"));
    const auto text = m.render();
    EXPECT_TRUE(
        has_line(text, "rdpbridge_channel_refused_total{backend=\"press\",what=\"device\"} 3"));
    EXPECT_TRUE(
        has_line(text, "rdpbridge_channel_refused_total{backend=\"press\",what=\"pdu\"} 3"));
    // A backend without a policy has no series at all.
    EXPECT_EQ(text.find("rdpbridge_channel_refused_total{backend=\"office\""), std::string::npos);
}

TEST(Metrics, LabelValuesAreEscaped) {
    Metrics m("1");
    m.on_event(
        Json::parse(R"({"event":"session_established","backend":"a\"b\\c\nd","handshake_ms":1})"));
    EXPECT_TRUE(has_line(m.render(), R"(rdpbridge_sessions_total{backend="a\"b\\c\nd"} 1)"));
}
