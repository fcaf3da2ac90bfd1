#include "rdp/credssp_stream.hpp"

#include <string>

namespace rdpbridge::rdp::credssp {

Result<std::optional<TsRequest>> TsRequestStream::next() {
    auto size = complete_ts_request_size(buffered_);
    if (!size) return size.error();
    if (!*size) return std::optional<TsRequest>{};
    if (count_ == kMaxTsRequests)
        return Error{"credssp.ts_request", "more than " + std::to_string(kMaxTsRequests) +
                                               " TSRequests in one run (a run takes 2 to 4)"};
    auto request = decode_ts_request(ByteView(buffered_).first(**size));
    if (!request) return request.error();
    buffered_.erase(buffered_.begin(), buffered_.begin() + std::ptrdiff_t(**size));
    ++count_;
    return std::optional<TsRequest>(std::move(*request));
}

Result<std::optional<ByteView>> single_nego_token(const TsRequest& request) {
    if (request.nego_tokens.empty()) return std::optional<ByteView>{};
    if (request.nego_tokens.size() > 1)
        return Error{"credssp.ts_request.nego_tokens",
                     std::to_string(request.nego_tokens.size()) + " tokens, expected one"};
    return std::optional<ByteView>(request.nego_tokens.front());
}

}  // namespace rdpbridge::rdp::credssp
