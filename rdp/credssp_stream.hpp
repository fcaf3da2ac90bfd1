// The peer's side of a CredSSP run as the state machines read it: TSRequests cut from the TLS
// byte stream (whatever the reads' sizes) and decoded, one at a time, within the run's bounds.
// What a TSRequest may hold at a given step is the state machine's business.
#pragma once

#include <optional>
#include <utility>

#include "rdp/credssp.hpp"

namespace rdpbridge::rdp::credssp {

// TSRequests one peer may send in a run. NTLM takes three from the client and two from the
// server, Kerberos behind SPNEGO at most one more each way; a peer still talking after ten is
// stuck in a loop or stalling the handshake.
// The field names both sides' failures use ("credssp.ts_request.pub_key_auth: ..."), and the
// malformed/package-refused failures each side words with its own causes.
namespace field {
inline constexpr const char* ts_request = "credssp.ts_request";
inline constexpr const char* version = "credssp.ts_request.version";
inline constexpr const char* nego_tokens = "credssp.ts_request.nego_tokens";
inline constexpr const char* auth_info = "credssp.ts_request.auth_info";
inline constexpr const char* pub_key_auth = "credssp.ts_request.pub_key_auth";
inline constexpr const char* error_code = "credssp.ts_request.error_code";
inline constexpr const char* client_nonce = "credssp.ts_request.client_nonce";
inline constexpr const char* early_user_auth = "credssp.early_user_authorization_result";
}  // namespace field

inline constexpr std::size_t kMaxTsRequests = 10;

// What Server::receive and Client::receive return while the run goes on: send what they
// appended, then read more.
struct InProgress {};

class TsRequestStream {
  public:
    void append(ByteView in) { buffered_.insert(buffered_.end(), in.begin(), in.end()); }

    // The next whole TSRequest, nullopt until its last byte is here. An Error names the field:
    // bytes that cannot start a TSRequest, one over kMaxTsRequestSize (refused from its header),
    // one that does not decode, or more than kMaxTsRequests of them.
    Result<std::optional<TsRequest>> next();

    // Bytes received after the last TSRequest next() returned: whatever the peer sends once
    // CredSSP is over. Hands them over and leaves the stream empty.
    Bytes take_rest() { return std::exchange(buffered_, {}); }
    std::size_t buffered() const { return buffered_.size(); }
    // TSRequests returned so far.
    std::size_t count() const { return count_; }

  private:
    Bytes buffered_;
    std::size_t count_ = 0;
};

// The one negoToken a TSRequest may carry, nullopt without negoTokens. The field allows a
// sequence, but every package sends one token per message and a second would be dropped.
Result<std::optional<ByteView>> single_nego_token(const TsRequest& request);

}  // namespace rdpbridge::rdp::credssp
