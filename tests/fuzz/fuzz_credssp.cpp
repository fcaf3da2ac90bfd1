// fuzz-requires: credssp.cpp utf16.cpp
// CredSSP (rdp/credssp.hpp): cutting a TLS stream into TSRequests (complete_ts_request_size),
// decode_ts_request / encode, decode_ts_credentials / encode_ts_credentials, the Early User
// Authorization Result, and the UTF-16 conversions underneath.
//
// Input: u32 chunking seed, then the bytes, given to every decoder.
// Oracles: the stream cuts into the same TSRequests (and stops at the same error) whether fed
// whole or in arbitrary chunks, each of the size its header announces; a PDU that decodes is one
// complete TSRequest to the framer too; decode(encode(decode(x))) == decode(x) and encoding is
// byte-stable and never longer than the input, for TSRequests; password TSCredentials round-trip
// and so does their password through UTF-8; the binding values have their sizes; every UTF-16 or
// UTF-8 conversion that succeeds converts back to its input.
#include <algorithm>
#include <optional>
#include <string>
#include <variant>

#include "rdp/credssp.hpp"
#include "rdp/utf16.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using namespace rdpbridge::rdp::credssp;
using rdpbridge::fuzz::hex_prefix;

namespace {

bool same(const TsRequest& a, const TsRequest& b) {
    return a.version == b.version && a.nego_tokens == b.nego_tokens && a.auth_info == b.auth_info &&
           a.pub_key_auth == b.pub_key_auth && a.error_code == b.error_code &&
           a.client_nonce == b.client_nonce;
}

bool same_bytes(ByteView a, ByteView b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void check_ts_request(ByteView pdu, const TsRequest& decoded) {
    auto framed = complete_ts_request_size(pdu);
    FUZZ_CHECK(
        framed.ok() && framed->has_value() && **framed == pdu.size(),
        "a PDU that decodes is not one complete TSRequest to the framer: " + hex_prefix(pdu));
    auto encoded = encode(decoded);
    FUZZ_CHECK(encoded.ok(), "decoded TSRequest does not encode: " + encoded.error().message());
    auto again = decode_ts_request(*encoded);
    FUZZ_CHECK(again.ok(), "re-encoded TSRequest rejected: " + again.error().message() + " " +
                               hex_prefix(*encoded));
    FUZZ_CHECK(same(decoded, *again), "decode(encode(x)) != x: " + hex_prefix(*encoded));
    auto stable = encode(*again);
    FUZZ_CHECK(stable.ok() && *stable == *encoded, "encoding not stable");
    // The decoder's leniencies are all longer forms: DER can only be shorter.
    FUZZ_CHECK(encoded->size() <= pdu.size(), "canonical encoding longer than the input");

    if (decoded.error_code) (void)error_code_to_string(*decoded.error_code);
    if (decoded.pub_key_auth) {
        const ByteView key = *decoded.pub_key_auth;
        const ByteView nonce = decoded.client_nonce ? ByteView(*decoded.client_nonce) : ByteView{};
        const std::size_t expected = decoded.version >= kFirstVersionWithNonce ? 32 : key.size();
        FUZZ_CHECK(client_binding(decoded.version, key, nonce).value().size() == expected &&
                       server_binding(decoded.version, key, nonce).value().size() == expected,
                   "binding value of the wrong size");
    }
}

struct Framing {
    std::vector<Bytes> pdus;
    std::optional<std::string> error;  // field of the error that stopped framing
    std::size_t left_over = 0;
};

// Cuts every complete TSRequest off the front of `buffered`; false once framing failed.
bool drain(Bytes& buffered, Framing& out) {
    for (;;) {
        auto size = complete_ts_request_size(buffered);
        if (!size) {
            out.error = size.error().field;
            return false;
        }
        if (!*size) return true;
        FUZZ_CHECK(**size > 0 && **size <= buffered.size() && **size <= kMaxTsRequestSize,
                   "framed size " + std::to_string(**size));
        out.pdus.emplace_back(buffered.begin(), buffered.begin() + std::ptrdiff_t(**size));
        buffered.erase(buffered.begin(), buffered.begin() + std::ptrdiff_t(**size));
    }
}

Framing frame(ByteView stream, rdpbridge::fuzz::Chunker* chunker) {
    Framing out;
    Bytes buffered;
    std::size_t fed = 0;
    bool ok = true;
    while (ok && fed < stream.size()) {
        const std::size_t n = chunker ? chunker->next(stream.size() - fed) : stream.size();
        buffered.insert(buffered.end(), stream.begin() + std::ptrdiff_t(fed),
                        stream.begin() + std::ptrdiff_t(fed + n));
        fed += n;
        ok = drain(buffered, out);
    }
    if (ok) out.left_over = buffered.size();
    return out;
}

void check_framing(ByteView stream, uint32_t seed) {
    const Framing whole = frame(stream, nullptr);
    rdpbridge::fuzz::Chunker chunker(seed);
    const Framing chunked = frame(stream, &chunker);
    FUZZ_CHECK(chunked.pdus == whole.pdus, "chunked framing cut " +
                                               std::to_string(chunked.pdus.size()) +
                                               " PDUs, whole " + std::to_string(whole.pdus.size()));
    FUZZ_CHECK(chunked.error == whole.error, "error differs: " + chunked.error.value_or("none") +
                                                 " vs " + whole.error.value_or("none"));
    FUZZ_CHECK(chunked.left_over == whole.left_over, "left-over differs");
    for (const Bytes& pdu : whole.pdus) {
        auto decoded = decode_ts_request(pdu);
        if (decoded) check_ts_request(pdu, *decoded);
    }
}

void check_ts_credentials(ByteView plaintext) {
    auto decoded = decode_ts_credentials(plaintext);
    if (!decoded) return;
    if (const auto* none = std::get_if<NoPassword>(&*decoded)) {
        FUZZ_CHECK(!to_string(*none).empty(), "unnamed NoPassword");
        return;
    }
    const auto& creds = std::get<PasswordCredentials>(*decoded);
    auto encoded = encode_ts_credentials(creds);
    FUZZ_CHECK(encoded.ok(), "decoded TSCredentials do not encode: " + encoded.error().message());
    auto again = decode_ts_credentials(encoded->view());
    FUZZ_CHECK(again.ok(), "re-encoded TSCredentials rejected: " + again.error().message());
    const auto* back = std::get_if<PasswordCredentials>(&*again);
    FUZZ_CHECK(back && back->domain == creds.domain && back->user == creds.user &&
                   same_bytes(back->password.view(), creds.password.view()),
               "TSCredentials do not round-trip");
    auto stable = encode_ts_credentials(*back);
    FUZZ_CHECK(stable.ok() && same_bytes(stable->view(), encoded->view()),
               "TSCredentials encoding not stable");
    if (auto utf8 = password_to_utf8(creds.password)) {
        auto utf16 = password_from_utf8(
            std::string_view(reinterpret_cast<const char*>(utf8->view().data()), utf8->size()));
        FUZZ_CHECK(utf16.ok() && same_bytes(utf16->view(), creds.password.view()),
                   "password does not convert back");
    }
}

void check_text(ByteView bytes) {
    if (auto utf8 = utf16le_to_utf8(bytes, "fuzz")) {
        auto back = utf8_to_utf16le(*utf8, "fuzz");
        FUZZ_CHECK(back.ok() && *back == Bytes(bytes.begin(), bytes.end()),
                   "UTF-16LE -> UTF-8 -> UTF-16LE changed " + hex_prefix(bytes));
    }
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (auto utf16 = utf8_to_utf16le(text, "fuzz")) {
        auto back = utf16le_to_utf8(*utf16, "fuzz");
        FUZZ_CHECK(back.ok() && *back == text,
                   "UTF-8 -> UTF-16LE -> UTF-8 changed " + hex_prefix(bytes));
    }
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_credssp) {
    rdpbridge::fuzz::Input in(input);
    const uint32_t seed = in.u32();
    const ByteView bytes = in.rest();

    if (auto decoded = decode_ts_request(bytes)) check_ts_request(bytes, *decoded);
    check_framing(bytes, seed);
    check_ts_credentials(bytes);
    if (bytes.size() >= kEarlyUserAuthResultSize) {
        const ByteView result = bytes.first(kEarlyUserAuthResultSize);
        if (auto decoded = decode_early_user_auth_result(result))
            FUZZ_CHECK(same_bytes(encode(*decoded), result), "Early User Authorization Result");
    }
    check_text(bytes);
}
