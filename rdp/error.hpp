// The error value every rdp/ parser returns. A parser never throws and never guesses: it names
// the field it was reading and why the bytes do not fit, so a handshake log can say
// "x224.rdp_neg_req.length: expected 8, got 12" instead of "malformed packet".
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace rdpbridge::rdp {

struct Error {
    std::string field;   // dotted path of the field being read, e.g. "tpkt.length"
    std::string reason;  // what was wrong with it

    std::string message() const { return field + ": " + reason; }
};

// A value or the Error that prevented it. Deliberately small: C++20 has no std::expected.
template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        assert(!ok());
        return std::get<1>(v_);
    }

  private:
    std::variant<T, Error> v_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace rdpbridge::rdp
