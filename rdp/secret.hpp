// Bytes that must not outlive their use: a password, or an encoding that holds one in clear.
//
// The destructor wipes them (crypto::cleanse, which the compiler may not optimise away). A
// Secret is move-only, so no copy escapes the wiping by accident, and it deliberately has no
// operator<< and no other formatting: a Secret must never be logged, not even in part.
#pragma once

#include <iosfwd>
#include <utility>

#include "rdp/bytes.hpp"
#include "rdp/crypto.hpp"

namespace rdpbridge::rdp {

class Secret {
  public:
    Secret() = default;
    explicit Secret(ByteView bytes) : bytes_(bytes.begin(), bytes.end()) {}
    // Takes over the buffer of `bytes` (moved, not copied).
    explicit Secret(Bytes&& bytes) : bytes_(std::move(bytes)) {}
    ~Secret() { wipe(); }

    // Moving hands the buffer itself over and leaves `other` empty: nothing is left behind.
    Secret(Secret&& other) noexcept : bytes_(std::exchange(other.bytes_, {})) {}
    Secret& operator=(Secret&& other) noexcept {
        if (this != &other) {
            wipe();
            bytes_ = std::exchange(other.bytes_, {});
        }
        return *this;
    }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;

    ByteView view() const { return bytes_; }
    std::size_t size() const { return bytes_.size(); }
    bool empty() const { return bytes_.empty(); }

    friend std::ostream& operator<<(std::ostream&, const Secret&) = delete;

  private:
    void wipe() { crypto::cleanse(bytes_.data(), bytes_.size()); }

    Bytes bytes_;
};

}  // namespace rdpbridge::rdp
