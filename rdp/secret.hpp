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

// Wipes every byte a buffer owns, its capacity and not only its size (a buffer that shrank still
// holds the old bytes past its end), then empties it, keeping the allocation. For buffers that
// are not a Secret but may hold one for a while, such as a PDU being rewritten.
inline void wipe(Bytes& bytes) noexcept {
    if (bytes.capacity() == 0) return;
    bytes.resize(bytes.capacity());  // within capacity: no reallocation, so nothing moves
    crypto::cleanse(bytes.data(), bytes.size());
    bytes.clear();
}

// Wipes a buffer when the scope ends, whichever way it ends (break, continue, co_return, an
// exception, a coroutine frame destroyed while suspended): a Bytes (its whole capacity), or a
// raw range such as a relay's read buffer (nullptr: nothing to wipe).
class WipeOnExit {
  public:
    explicit WipeOnExit(Bytes& bytes) noexcept : bytes_(&bytes) {}
    WipeOnExit(uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
    ~WipeOnExit() {
        if (bytes_ != nullptr) wipe(*bytes_);
        if (data_ != nullptr) crypto::cleanse(data_, size_);
    }
    WipeOnExit(const WipeOnExit&) = delete;
    WipeOnExit& operator=(const WipeOnExit&) = delete;

  private:
    Bytes* bytes_ = nullptr;
    uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

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
    void wipe() { rdp::wipe(bytes_); }

    Bytes bytes_;
};

}  // namespace rdpbridge::rdp
