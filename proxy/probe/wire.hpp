// Blocking client connections with a deadline on every step, for the probe. The probe is a
// short, fixed sequence of request/answer exchanges, so blocking calls keep the scanners plain
// sequential code; this is the only probe file that includes Asio (see ARCHITECTURE.md on
// compile time), the scanners see only this header.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "rdp/bytes.hpp"
#include "rdp/diagnosis.hpp"

namespace rdpbridge::probe {

using Millis = std::chrono::milliseconds;

// How a network step failed, in the diagnosis vocabulary.
struct WireFailure {
    WireFailure(rdp::Cause c, std::string d, rdp::Bytes first = {})
        : cause(c), detail(std::move(d)), first_bytes(std::move(first)) {}
    WireFailure(rdp::Failure f)  // NOLINT(google-explicit-constructor): the same thing
        : cause(f.cause), detail(std::move(f.detail)) {}

    rdp::Cause cause;
    std::string detail;
    rdp::Bytes first_bytes;  // what the peer sent when it was not a TPKT frame
};

template <class T>
class [[nodiscard]] Outcome {
  public:
    Outcome(T value) : v_(std::move(value)) {}                // NOLINT(google-explicit-constructor)
    Outcome(WireFailure failure) : v_(std::move(failure)) {}  // NOLINT(google-explicit-constructor)
    bool ok() const { return v_.index() == 0; }
    T& value() {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const {
        assert(ok());
        return std::get<0>(v_);
    }
    const WireFailure& failure() const {
        assert(!ok());
        return std::get<1>(v_);
    }

  private:
    std::variant<T, WireFailure> v_;
};

// The time the whole probe may take and the longest any single step may wait, shared by the
// scanners (and their threads): once the total is spent no new connection starts.
class Budget {
  public:
    Budget(Millis step, Millis total);
    // The deadline for the next step: the step timeout, or less when the total runs out.
    Millis step() const;
    bool exhausted() const { return step().count() <= 0; }
    void count_connection() { ++connections_; }
    int connections() const { return connections_; }

  private:
    Millis step_;
    std::chrono::steady_clock::time_point end_;
    std::atomic<int> connections_{0};
};

// Resolves `host` (a name or a literal) to IP address strings. Runs getaddrinfo in a detached
// thread so that a stuck resolver cannot hold the probe past `timeout`.
Outcome<std::vector<std::string>> resolve(const std::string& host, Millis timeout);

class Connection {
  public:
    // TCP to ip:port; counts the connection in `budget` and uses its step deadline throughout.
    static Outcome<Connection> open(const std::string& ip, uint16_t port, Budget& budget);
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    ~Connection();

    // Writes `pdu` and reads exactly one TPKT frame of at most `max` bytes in answer. A peer
    // that answers with something else fails with host_confirm_malformed and its first bytes.
    Outcome<rdp::Bytes> exchange(rdp::ByteView pdu, std::size_t max);

    // A TLS client handshake on this connection. `configure` adjusts this connection's SSL
    // (versions, ciphers, SNI) before the ClientHello. The SSL stays valid while the
    // Connection lives.
    Outcome<SSL*> start_tls(SSL_CTX* ctx, const std::function<void(SSL*)>& configure);

  private:
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace rdpbridge::probe
