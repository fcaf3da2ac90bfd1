// PduWatch on the real host -> client stream of a TLS session (tests/fixtures/session_tls,
// s2c_01..s2c_19: everything the host sent after the X.224 confirm, slow-path and fast-path),
// with a Set Error Info PDU built by the codecs and xrdp's real Disconnect Provider Ultimatum
// (session_rdp/s2c_09.bin) spliced in.
#include "rdp/pdu_watch.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "rdp/error_info.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"
#include "tests/unit/fixtures.hpp"

namespace rdpbridge::rdp {
namespace {

using Kind = WatchEvent::Kind;
using test::fixture;

constexpr uint16_t kIoChannel = 1003;  // as in the captured session
constexpr uint16_t kInitiator = 7;     // as on the wire in the captured session

// The host's PDUs after the X.224 exchange, in order.
std::vector<Bytes> host_pdus() {
    std::vector<Bytes> pdus;
    for (int i = 1; i <= 19; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "session_tls/s2c_%02d.bin", i);
        pdus.push_back(fixture(name));
    }
    return pdus;
}

// Share Control Header + Share Data Header + errorInfo, as [MS-RDPBCGR] 2.2.5.1.1 lays it out.
Bytes set_error_info_user_data(uint32_t code, uint16_t total_length = 22, uint8_t pdu_type2 = 0x2F,
                               uint8_t compressed_type = 0) {
    Bytes out;
    Writer w(out);
    w.u16le(total_length);
    w.u16le(0x0017);      // PDUTYPE_DATAPDU | TS_PROTOCOL_VERSION
    w.u16le(0);           // pduSource: zero for this PDU
    w.u32le(0x000103EA);  // shareId, as xrdp's Demand Active set it
    w.u8(0);              // pad1
    w.u8(1);              // streamId: STREAM_LOW
    w.u16le(4);           // uncompressedLength
    w.u8(pdu_type2);
    w.u8(compressed_type);
    w.u16le(0);  // compressedLength
    w.u32le(code);
    return out;
}

Bytes send_data_indication(ByteView user_data, uint16_t channel = kIoChannel) {
    mcs::SendData header;
    header.indication = true;
    header.initiator = kInitiator;
    header.channel = channel;
    auto frame = mcs::encode_send_data(header, user_data);
    EXPECT_TRUE(frame.ok());
    return frame.ok() ? *frame : Bytes{};
}

Bytes set_error_info_pdu(uint32_t code) {
    return send_data_indication(set_error_info_user_data(code));
}

Bytes join(const std::vector<Bytes>& pdus) {
    Bytes out;
    for (const auto& p : pdus) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// The real stream with `extra` inserted after the slow-path finalization PDUs (s2c_15, Font
// Map), before the fast-path output and the drdynvc data that follow it.
std::vector<Bytes> with_inserted(const std::vector<Bytes>& extra) {
    auto pdus = host_pdus();
    pdus.insert(pdus.begin() + 15, extra.begin(), extra.end());
    return pdus;
}

struct Outcome {
    std::vector<WatchEvent> events;
    std::optional<Error> error;
    std::optional<Error> at_end;
    std::size_t pdus = 0;
};

Outcome watch_chunks(ByteView stream, const std::vector<std::size_t>& cuts,
                     std::size_t max_pdu = 0xFFFF) {
    PduWatch w(max_pdu);
    Outcome out;
    std::size_t from = 0;
    auto feed = [&](std::size_t to) {
        if (out.error) return;
        out.error = w.feed(stream.subspan(from, to - from));
        auto ev = w.take_events();
        out.events.insert(out.events.end(), ev.begin(), ev.end());
        from = to;
    };
    for (std::size_t cut : cuts) feed(cut);
    feed(stream.size());
    out.at_end = w.finish();
    out.pdus = w.pdu_count();
    EXPECT_EQ(w.offset(), out.error ? w.offset() : stream.size());
    return out;
}

Outcome watch_whole(ByteView stream, std::size_t max_pdu = 0xFFFF) {
    return watch_chunks(stream, {}, max_pdu);
}

Outcome watch_bytewise(ByteView stream) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
    return watch_chunks(stream, cuts);
}

std::string describe(const std::vector<WatchEvent>& events) {
    std::string s;
    for (const auto& e : events)
        s += (e.kind == Kind::set_error_info ? "set_error_info " : "disconnect_ultimatum ") +
             std::to_string(e.code) + "; ";
    return s;
}

void expect_clean(const Outcome& o, const std::vector<WatchEvent>& events, std::size_t pdus,
                  const std::string& how) {
    EXPECT_FALSE(o.error) << how << ": " << o.error->message();
    EXPECT_FALSE(o.at_end) << how << ": " << o.at_end->message();
    EXPECT_EQ(o.events, events) << how << ": got " << describe(o.events);
    EXPECT_EQ(o.pdus, pdus) << how;
}

// --- The builder makes what a host sends ------------------------------------------------------

TEST(PduWatch, BuiltSetErrorInfoHasTheSpecLayout) {
    const Bytes pdu = set_error_info_pdu(0x0000000C);
    // TPKT 4 + X.224 3 + MCS SDin 7 (one-byte PER length) + 22.
    ASSERT_EQ(pdu.size(), 36u);
    auto payload = unwrap_x224_data(pdu);
    ASSERT_TRUE(payload.ok());
    auto sd = mcs::decode_send_data(*payload);
    ASSERT_TRUE(sd.ok());
    EXPECT_TRUE(sd->indication);
    EXPECT_EQ(sd->channel, kIoChannel);
    ASSERT_EQ(sd->user_data.size(), 22u);
    EXPECT_EQ(sd->user_data[14], kPduType2SetErrorInfo);
    // Same TPKT, X.224, MCS and Share Control framing (up to pduSource) as the real Synchronize
    // PDU xrdp sent on the I/O channel (s2c_12), which happens to be 36 bytes too.
    const Bytes sync = fixture("session_tls/s2c_12.bin");
    ASSERT_EQ(sync.size(), pdu.size());
    EXPECT_TRUE(std::equal(pdu.begin(), pdu.begin() + 18, sync.begin()));
}

// --- The real session ------------------------------------------------------------------------

TEST(PduWatch, RealSessionHasNoEvents) {
    const Bytes stream = join(host_pdus());
    expect_clean(watch_whole(stream), {}, 19, "whole");
    expect_clean(watch_bytewise(stream), {}, 19, "byte by byte");
}

TEST(PduWatch, TheX224ConfirmBeforeTlsIsWalkedOver) {
    auto pdus = host_pdus();
    pdus.insert(pdus.begin(), fixture("session_tls/s2c_00.bin"));
    expect_clean(watch_whole(join(pdus)), {}, 20, "with the confirm");
}

// --- Set Error Info in the real stream, every chunking -----------------------------------------

class SetErrorInfoChunking : public ::testing::Test {
  protected:
    void SetUp() override {
        sei_ = set_error_info_pdu(0x0000000C);
        const auto pdus = with_inserted({sei_});
        stream_ = join(pdus);
        for (std::size_t i = 0; i < 15; ++i) sei_at_ += pdus[i].size();
    }
    const std::vector<WatchEvent> expected_{{Kind::set_error_info, 0x0000000C}};
    static constexpr std::size_t kPdus = 20;
    Bytes sei_;
    Bytes stream_;
    std::size_t sei_at_ = 0;
};

TEST_F(SetErrorInfoChunking, Whole) {
    expect_clean(watch_whole(stream_), expected_, kPdus, "whole");
}

TEST_F(SetErrorInfoChunking, ByteByByte) {
    expect_clean(watch_bytewise(stream_), expected_, kPdus, "byte by byte");
}

TEST_F(SetErrorInfoChunking, EveryTwoChunkSplit) {
    for (std::size_t cut = 0; cut <= stream_.size(); ++cut)
        expect_clean(watch_chunks(stream_, {cut}), expected_, kPdus,
                     "cut at " + std::to_string(cut));
}

// Three chunks with both cuts anywhere in (or next to) the Set Error Info PDU: every way its
// headers can be torn apart.
TEST_F(SetErrorInfoChunking, EveryThreeChunkSplitAroundThePdu) {
    const std::size_t lo = sei_at_ - 4, hi = sei_at_ + sei_.size() + 4;
    for (std::size_t a = lo; a <= hi; ++a)
        for (std::size_t b = a; b <= hi; ++b)
            expect_clean(watch_chunks(stream_, {a, b}), expected_, kPdus,
                         "cuts at " + std::to_string(a) + ", " + std::to_string(b));
}

TEST_F(SetErrorInfoChunking, RandomSplits) {
    std::mt19937 rng(20261125);
    for (int round = 0; round < 2000; ++round) {
        std::vector<std::size_t> cuts;
        const std::size_t n = 1 + rng() % 40;
        for (std::size_t i = 0; i < n; ++i) cuts.push_back(rng() % (stream_.size() + 1));
        std::sort(cuts.begin(), cuts.end());
        expect_clean(watch_chunks(stream_, cuts), expected_, kPdus,
                     "round " + std::to_string(round));
    }
}

// Every prefix of the stream: no error while walking, and finish() says whether the stream
// stopped on a PDU boundary; the event appears exactly once the PDU is complete.
TEST_F(SetErrorInfoChunking, EveryTruncationIsReportedAtTheEnd) {
    std::vector<std::size_t> boundaries{0};
    for (const auto& p : with_inserted({sei_})) boundaries.push_back(boundaries.back() + p.size());
    for (std::size_t n = 0; n <= stream_.size(); ++n) {
        PduWatch w;
        const auto fed = w.feed(ByteView(stream_).first(n));
        ASSERT_FALSE(fed) << n << ": " << fed->message();
        const bool boundary =
            std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
        const auto end = w.finish();
        EXPECT_EQ(end.has_value(), !boundary) << n;
        if (end) {
            EXPECT_TRUE(end->field == "tpkt.length" || end->field == "fastpath.length")
                << end->field;
        }
        const bool complete = n >= sei_at_ + sei_.size();
        EXPECT_EQ(w.take_events().size(), complete ? 1u : 0u) << n;
    }
}

// --- Other codes, other PDUs ---------------------------------------------------------------------

TEST(PduWatch, ReportsCodesAsSentIncludingNoneAndUnknown) {
    const std::vector<uint32_t> codes{0x00000000, 0x00000003, 0x0000010A, 0x00000409,
                                      0x000010C9, 0x00001195, 0xDEADBEEF};
    std::vector<Bytes> extra;
    std::vector<WatchEvent> expected;
    for (uint32_t c : codes) {
        extra.push_back(set_error_info_pdu(c));
        expected.push_back({Kind::set_error_info, c});
    }
    const Bytes stream = join(with_inserted(extra));
    expect_clean(watch_whole(stream), expected, 19 + codes.size(), "whole");
    expect_clean(watch_bytewise(stream), expected, 19 + codes.size(), "byte by byte");
    EXPECT_EQ(error_info_to_string(expected[1].code), "ERRINFO_IDLE_TIMEOUT (0x00000003)");
}

TEST(PduWatch, RealDisconnectProviderUltimatumAfterSetErrorInfo) {
    // xrdp's real ultimatum, reason 3 (rn-user-requested).
    const Bytes ultimatum = fixture("session_rdp/s2c_09.bin");
    auto pdus = host_pdus();
    pdus.push_back(set_error_info_pdu(0x00001192));
    pdus.push_back(ultimatum);
    const Bytes stream = join(pdus);
    const std::vector<WatchEvent> expected{{Kind::set_error_info, 0x00001192},
                                           {Kind::disconnect_ultimatum, 3}};
    expect_clean(watch_whole(stream), expected, 21, "whole");
    expect_clean(watch_bytewise(stream), expected, 21, "byte by byte");
}

TEST(PduWatch, EveryUltimatumReason) {
    for (uint8_t reason = 0; reason <= 4; ++reason) {
        // PER: type 8 in the top six bits, the three-bit reason across the next boundary.
        const Bytes payload{uint8_t(8 << 2 | reason >> 1), uint8_t((reason & 1) << 7)};
        expect_clean(watch_whole(wrap_x224_data(payload)), {{Kind::disconnect_ultimatum, reason}},
                     1, "reason " + std::to_string(reason));
    }
}

TEST(PduWatch, FastPathIsSkippedEvenWhenItLooksLikeSetErrorInfo) {
    const Bytes user = set_error_info_user_data(0x0000000C);
    Bytes fast{0x00, uint8_t(2 + user.size())};
    fast.insert(fast.end(), user.begin(), user.end());
    expect_clean(watch_whole(join(with_inserted({fast}))), {}, 20, "fast-path");
}

// The shortest PDUs peek_frame accepts: a fast-path PDU that is only its 2-byte header, a
// long-form one that is only its 3-byte header, and a 7-byte TPKT (an empty X.224 Disconnect
// Request) — the watcher must not read their neighbours' bytes as their headers.
TEST(PduWatch, HeaderOnlyPdusNextToEachOther) {
    const std::vector<Bytes> tiny{Bytes{0x00, 0x02}, Bytes{0x00, 0x80, 0x03},
                                  Bytes{0x03, 0x00, 0x00, 0x07, 0x02, 0x80, 0x00},
                                  Bytes{0x00, 0x02}};
    auto extra = tiny;
    extra.push_back(set_error_info_pdu(0x0000000C));
    extra.insert(extra.end(), tiny.begin(), tiny.end());
    const Bytes stream = join(with_inserted(extra));
    const std::vector<WatchEvent> expected{{Kind::set_error_info, 0x0000000C}};
    expect_clean(watch_whole(stream), expected, 19 + extra.size(), "whole");
    expect_clean(watch_bytewise(stream), expected, 19 + extra.size(), "byte by byte");
}

TEST(PduWatch, SetErrorInfoLookalikesAreNotReported) {
    std::vector<Bytes> extra{
        send_data_indication(set_error_info_user_data(1, 26)),              // totalLength != size
        send_data_indication(set_error_info_user_data(1, 22, 0x1F)),        // another pduType2
        send_data_indication(set_error_info_user_data(1, 22, 0x2F, 0x21)),  // compressed
        send_data_indication(Bytes(17, 0x2F)),                              // too short for headers
        wrap_x224_data(Bytes{0x68, 0x00, 0x07, 0x03, 0xEB, 0x70, 0x00}),  // Send Data, no user data
    };
    auto user = set_error_info_user_data(1);
    user[2] = 0x16;  // pduType 6 (Deactivate All), not a data PDU
    extra.push_back(send_data_indication(user));
    expect_clean(watch_whole(join(with_inserted(extra))), {}, 19 + extra.size(), "lookalikes");
}

TEST(PduWatch, LongPdusAreSkippedNotKept) {
    // Channel data far beyond the kept 64 bytes (two-byte PER length), then the real thing.
    Bytes big(20000, 0x2F);
    std::vector<Bytes> extra{send_data_indication(big, 1007), set_error_info_pdu(0x00000019)};
    const Bytes stream = join(with_inserted(extra));
    expect_clean(watch_whole(stream), {{Kind::set_error_info, 0x00000019}}, 21, "whole");
    expect_clean(watch_chunks(stream, {100, 3000, 3001, 20000}),
                 {{Kind::set_error_info, 0x00000019}}, 21, "chunks");
}

TEST(PduWatch, SetErrorInfoOnAnyChannelAndFromARequest) {
    // The watcher does not know the I/O channel id; it recognises the PDU by its own headers.
    mcs::SendData header;
    header.indication = false;
    header.channel = 1004;
    const Bytes user = set_error_info_user_data(0x7);
    auto frame = mcs::encode_send_data(header, user);
    ASSERT_TRUE(frame.ok());
    expect_clean(watch_whole(*frame), {{Kind::set_error_info, 0x7}}, 1, "request on 1004");
}

TEST(PduWatch, TakeEventsEmptiesTheQueue) {
    PduWatch w;
    ASSERT_FALSE(w.feed(set_error_info_pdu(5)));
    EXPECT_EQ(w.take_events().size(), 1u);
    EXPECT_TRUE(w.take_events().empty());
}

// --- Streams that are not (or stop being) RDP ----------------------------------------------------

std::optional<Error> first_error(ByteView stream, std::size_t max_pdu = 0xFFFF) {
    const Outcome whole = watch_whole(stream, max_pdu);
    const Outcome bytes = watch_bytewise(stream);
    if (max_pdu == 0xFFFF) {
        EXPECT_EQ(whole.error.has_value(), bytes.error.has_value());
        if (whole.error && bytes.error) {
            EXPECT_EQ(whole.error->field, bytes.error->field);
        }
        EXPECT_EQ(whole.events, bytes.events);
    }
    return whole.error;
}

// The field of the first error, or "(none)": a missed error fails the comparison, not the run.
std::string error_field(ByteView stream, std::size_t max_pdu = 0xFFFF) {
    const auto e = first_error(stream, max_pdu);
    return e ? e->field : "(none)";
}

TEST(PduWatch, GarbageIsNotRdp) {
    const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    auto e = first_error(ByteView(reinterpret_cast<const uint8_t*>(http.data()), http.size()));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field, "tpkt.version");
    EXPECT_NE(e->reason.find("stream offset 0"), std::string::npos) << e->reason;
}

TEST(PduWatch, TlsRecordsAreNotRdp) {
    // What the watcher would see if it were handed the ciphertext: a TLS application-data record.
    const Bytes record{0x17, 0x03, 0x03, 0x00, 0x20, 0xAA, 0xBB};
    auto e = first_error(record);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field, "tpkt.version");
}

TEST(PduWatch, GarbageAfterRealPdusKeepsTheEventsBefore) {
    auto pdus = host_pdus();
    pdus.push_back(set_error_info_pdu(0x0000000C));
    Bytes stream = join(pdus);
    const std::size_t garbage_at = stream.size();
    stream.push_back(0x05);
    stream.push_back(0x00);

    PduWatch w;
    auto e = w.feed(stream);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field, "tpkt.version");
    EXPECT_NE(e->reason.find("stream offset " + std::to_string(garbage_at)), std::string::npos)
        << e->reason;
    EXPECT_EQ(w.take_events(), (std::vector<WatchEvent>{{Kind::set_error_info, 0x0000000C}}));
    EXPECT_TRUE(w.failed());
    EXPECT_EQ(w.pdu_count(), 20u);

    // Failed for good: the same error, no more events, even for a valid PDU.
    auto again = w.feed(set_error_info_pdu(1));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->field, e->field);
    EXPECT_EQ(again->reason, e->reason);
    EXPECT_TRUE(w.take_events().empty());
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(w.finish()->field, "tpkt.version");
}

TEST(PduWatch, FramingErrors) {
    EXPECT_EQ(error_field(Bytes{0x03, 0x00, 0x00, 0x06, 0x02, 0xF0}), "tpkt.length");
    EXPECT_EQ(error_field(Bytes{0x00, 0x01}), "fastpath.length");
    EXPECT_EQ(error_field(Bytes{0x00, 0x80, 0x02}), "fastpath.length");
    // Larger than the limit the gateway set.
    const Bytes license = fixture("session_tls/s2c_09.bin");  // 337 bytes
    auto e = first_error(license, 336);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field, "tpkt.length");
    EXPECT_FALSE(first_error(license, 337));
}

TEST(PduWatch, X224Errors) {
    Bytes pdu = set_error_info_pdu(1);
    pdu[4] = 3;  // a Data TPDU's length indicator is 2
    EXPECT_EQ(error_field(pdu), "x224.length_indicator");
    pdu = set_error_info_pdu(1);
    pdu[5] = 0x10;  // not a class 0 TPDU code
    EXPECT_EQ(error_field(pdu), "x224.code");
    // A Disconnect Request whose header claims more than the TPDU holds.
    EXPECT_EQ(error_field(Bytes{0x03, 0x00, 0x00, 0x07, 0x06, 0x80, 0x00}),
              "x224.length_indicator");
    EXPECT_FALSE(first_error(Bytes{0x03, 0x00, 0x00, 0x0B, 0x06, 0x80, 0, 0, 0x12, 0x34, 0}));
}

TEST(PduWatch, McsErrors) {
    // An X.224 Data TPDU with nothing in it.
    EXPECT_EQ(error_field(Bytes{0x03, 0x00, 0x00, 0x07, 0x02, 0xF0, 0x80}), "mcs.domain_pdu");
    // An ultimatum cut after its first byte.
    EXPECT_EQ(error_field(wrap_x224_data(Bytes{0x20})), "mcs.disconnect_provider_ultimatum");
    // A Send Data Indication cut inside its header.
    EXPECT_EQ(error_field(wrap_x224_data(Bytes{0x68, 0x00, 0x07, 0x03})),
              "mcs.send_data.channel_id");
    EXPECT_EQ(error_field(wrap_x224_data(Bytes{0x68, 0x00, 0x07, 0x03, 0xEB, 0x70})),
              "mcs.send_data.length");
    // Its PER length says more than the TPKT carries...
    Bytes pdu = set_error_info_pdu(1);
    pdu[13] = 23;
    EXPECT_EQ(error_field(pdu), "mcs.send_data.user_data");
    // ...or less.
    pdu = set_error_info_pdu(1);
    pdu[13] = 21;
    EXPECT_EQ(error_field(pdu), "mcs.send_data");
}

TEST(PduWatch, SetErrorInfoWithoutItsCode) {
    // Share headers that say Set Error Info, then only two of the four errorInfo bytes.
    Bytes user = set_error_info_user_data(0x0000000C, 20);
    user.resize(20);
    auto e = first_error(send_data_indication(user));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->field, "set_error_info.error_info");
}

TEST(PduWatch, FinishNamesTheCutPdu) {
    PduWatch w;
    EXPECT_FALSE(w.finish());
    ASSERT_FALSE(w.feed(Bytes{0x03, 0x00}));
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(w.finish()->field, "tpkt.length");
    ASSERT_FALSE(w.feed(Bytes{0x00, 0x24, 0x02}));
    ASSERT_TRUE(w.finish());
    EXPECT_NE(w.finish()->reason.find("announces 36 bytes, stream ended after 5"),
              std::string::npos)
        << w.finish()->reason;

    PduWatch f;
    ASSERT_FALSE(f.feed(Bytes{0x00, 0x80}));
    ASSERT_TRUE(f.finish());
    EXPECT_EQ(f.finish()->field, "fastpath.length");
}

}  // namespace
}  // namespace rdpbridge::rdp
