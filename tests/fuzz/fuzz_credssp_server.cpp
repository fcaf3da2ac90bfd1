// fuzz-requires: credssp.cpp credssp_stream.cpp credssp_server.cpp utf16.cpp
// The CredSSP server state machine (rdp/credssp_server.hpp) on whatever a client sends, with a
// fake security package that accepts any token: it completes on the Nth, seals and unseals as
// the identity, and refuses tokens starting with '!'. The public key is short, so that a
// version 2-4 binding (the key itself) is within the fuzzer's reach and the run can get to the
// client's credentials.
//
// Input: u8 flags (bit 0 HYBRID_EX, bits 1-2 the step that completes the package (1-4),
// bit 3 the package has a last token), u32 chunking seed, then the client's byte stream.
// Oracles:
//  - fed whole or in arbitrary chunks the run ends the same way (result, cause, detail, bytes
//    sent, bytes left for the Bridge), except that under HYBRID_EX bytes after authInfo are
//    seen only when they arrive with it;
//  - a failure carries a front CredSSP cause and a detail;
//  - what the Server sends is whole TSRequests of the run's version, then under HYBRID_EX at
//    most one Early User Authorization Result, last: `granted` exactly when authenticated;
//  - an authenticated run has a version of 1 to 6, and under HYBRID_EX nothing left over;
//  - the package is never stepped more than kMaxTsRequests times.
#include <algorithm>
#include <string>
#include <variant>

#include "rdp/credssp_server.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using namespace rdpbridge::rdp::credssp;
using rdpbridge::fuzz::hex_prefix;

namespace {

const Bytes kPublicKey = {'K', 'E', 'Y'};

class FuzzPackage : public SecurityPackage {
  public:
    FuzzPackage(unsigned complete_on, bool last_token)
        : complete_on_(complete_on), last_token_(last_token) {}

    Result<PackageStep> step(ByteView peer_token) override {
        ++steps;
        if (!peer_token.empty() && peer_token[0] == '!') return Error{"fuzz", "refused"};
        const bool complete = steps >= complete_on_;
        if (complete && !last_token_) return PackageStep{{}, true};
        return PackageStep{Bytes{'T', uint8_t('0' + steps % 10)}, complete};
    }
    Result<Bytes> wrap(ByteView plain) override { return Bytes(plain.begin(), plain.end()); }
    Result<Secret> unwrap(ByteView sealed) override {
        if (sealed.empty()) return Error{"fuzz", "nothing to unseal"};
        return Secret(sealed);
    }

    unsigned steps = 0;

  private:
    unsigned complete_on_;
    bool last_token_;
};

struct Outcome {
    std::size_t index = 0;  // ServerResult's alternative
    Cause cause = Cause::internal_error;
    std::string detail;
    uint32_t version = 0;
    Bytes sent;
    Bytes left;  // authenticated: Authenticated::rest and what was not fed after the end
};

Outcome run(ByteView stream, uint8_t flags, rdpbridge::fuzz::Chunker* chunker) {
    FuzzPackage package(1 + (flags >> 1 & 3), flags & 8);
    Server server(package, kPublicKey, flags & 1);
    Outcome out;
    ServerResult result;
    std::size_t fed = 0;
    while (std::holds_alternative<InProgress>(result) && fed < stream.size()) {
        const std::size_t n = chunker ? chunker->next(stream.size() - fed) : stream.size();
        result = server.receive(stream.subspan(fed, n), out.sent);
        fed += n;
    }
    FUZZ_CHECK(package.steps <= kMaxTsRequests, std::to_string(package.steps) + " steps");
    out.index = result.index();
    if (const auto* failure = std::get_if<Failure>(&result)) {
        out.cause = failure->cause;
        out.detail = failure->detail;
    } else if (auto* done = std::get_if<Authenticated>(&result)) {
        out.version = done->version;
        out.left = std::move(done->rest);
        FUZZ_CHECK(done->version >= 1 && done->version <= kVersion,
                   "version " + std::to_string(done->version));
        FUZZ_CHECK(!(flags & 1) || out.left.empty(), "bytes left over under HYBRID_EX");
    }
    if (out.index == 1)
        out.left.insert(out.left.end(), stream.begin() + std::ptrdiff_t(fed), stream.end());
    return out;
}

void check_failure(const Outcome& o) {
    static constexpr Cause kFront[] = {Cause::client_nla_failed, Cause::client_nla_binding_mismatch,
                                       Cause::client_delegated_no_password,
                                       Cause::client_nla_malformed};
    FUZZ_CHECK(std::ranges::find(kFront, o.cause) != std::end(kFront),
               "cause " + std::string(describe(o.cause).id));
    FUZZ_CHECK(!o.detail.empty(), "failure without detail");
}

void check_sent(const Outcome& o, bool hybrid_ex) {
    ByteView rest = o.sent;
    std::optional<uint32_t> version;
    while (!rest.empty() && rest[0] == 0x30) {
        auto size = complete_ts_request_size(rest);
        FUZZ_CHECK(size.ok() && size->has_value(), "sent a cut TSRequest: " + hex_prefix(rest));
        auto request = decode_ts_request(rest.first(**size));
        FUZZ_CHECK(request.ok(), "sent an undecodable TSRequest: " + hex_prefix(rest));
        FUZZ_CHECK(!version || *version == request->version, "version changed in the run");
        version = request->version;
        rest = rest.subspan(**size);
    }
    const bool authenticated = o.index == 1;
    if (rest.empty()) {
        FUZZ_CHECK(!hybrid_ex || !authenticated, "authenticated without `granted`");
        return;
    }
    FUZZ_CHECK(hybrid_ex, "bytes after the TSRequests: " + hex_prefix(rest));
    auto result = decode_early_user_auth_result(rest);
    FUZZ_CHECK(result.ok(), "not one Early User Authorization Result: " + hex_prefix(rest));
    FUZZ_CHECK((*result == EarlyUserAuthResult::granted) == authenticated,
               "granted and authenticated disagree");
    FUZZ_CHECK(o.index != 0, "Early User Authorization Result before the end");
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_credssp_server) {
    rdpbridge::fuzz::Input in(input);
    const uint8_t flags = in.u8();
    const uint32_t seed = in.u32();
    const ByteView stream = in.rest();
    const bool hybrid_ex = flags & 1;

    const Outcome whole = run(stream, flags, nullptr);
    rdpbridge::fuzz::Chunker chunker(seed);
    const Outcome chunked = run(stream, flags, &chunker);

    for (const Outcome* o : {&whole, &chunked}) {
        if (o->index == 2) check_failure(*o);
        check_sent(*o, hybrid_ex);
    }
    // Under HYBRID_EX, bytes after authInfo are refused when they come with it (how many is in
    // the detail), and stay with the caller (who gives them to the Bridge) when they come later.
    const auto after_auth_info = [](const Outcome& o) {
        return o.index == 2 && o.detail.find("after authInfo") != std::string::npos;
    };
    if (hybrid_ex && after_auth_info(whole)) {
        FUZZ_CHECK(after_auth_info(chunked) || (chunked.index == 1 && !chunked.left.empty()),
                   "refused whole, chunked: " + chunked.detail);
        return;
    }
    FUZZ_CHECK(whole.index == chunked.index, "whole ended in " + std::to_string(whole.index) +
                                                 ", chunked in " + std::to_string(chunked.index) +
                                                 ": " + whole.detail + " / " + chunked.detail);
    FUZZ_CHECK(whole.cause == chunked.cause && whole.detail == chunked.detail,
               "failure differs: " + whole.detail + " / " + chunked.detail);
    FUZZ_CHECK(whole.sent == chunked.sent, "sent bytes differ");
    FUZZ_CHECK(whole.version == chunked.version && whole.left == chunked.left,
               "authenticated runs differ");
}
