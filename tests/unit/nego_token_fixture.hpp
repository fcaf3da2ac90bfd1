// The NTLMSSP tokens inside the captured CredSSP exchanges (tests/fixtures/credssp/).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "fixtures.hpp"
#include "rdp/credssp.hpp"

namespace rdpbridge::test {

// The first negoToken of a captured TSRequest.
inline rdp::Bytes nego_token(const std::string& name) {
    auto request = rdp::credssp::decode_ts_request(fixture("credssp/" + name));
    EXPECT_TRUE(request) << name << ": " << (request ? "" : request.error().message());
    if (!request || request->nego_tokens.empty()) {
        ADD_FAILURE() << name << " carries no negoToken";
        return {};
    }
    return request->nego_tokens.front();
}

}  // namespace rdpbridge::test
