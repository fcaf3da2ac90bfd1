// A password on its way from a client's TSCredentials (or the config) to GSSAPI: an rdp::Secret
// (wiped when it dies, move-only, not streamable) that keeps a NUL after the text, because
// gss-ntlmssp reads the password as a C string. The only way to read it is `reveal()`, which is
// easy to grep for.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string_view>

#include "rdp/secret.hpp"

namespace rdpbridge::nla {

class Password {
  public:
    Password() = default;
    explicit Password(std::string_view text) : secret_(with_nul(text)) {}

    bool empty() const { return size() == 0; }
    std::size_t size() const { return secret_.empty() ? 0 : secret_.size() - 1; }
    // Only for the call that consumes it; never for a log line.
    std::string_view reveal() const { return {reveal_c_str(), size()}; }
    const char* reveal_c_str() const {
        return secret_.empty() ? "" : reinterpret_cast<const char*>(secret_.view().data());
    }

  private:
    static rdp::Bytes with_nul(std::string_view text) {
        rdp::Bytes bytes;
        bytes.reserve(text.size() + 1);  // one allocation: no unwiped copy left behind
        bytes.assign(text.begin(), text.end());
        bytes.push_back(0);
        return bytes;
    }
    rdp::Secret secret_;
};

// Deliberately not streamable: printing a password is a compile error, not a review finding.
std::ostream& operator<<(std::ostream&, const Password&) = delete;

}  // namespace rdpbridge::nla
