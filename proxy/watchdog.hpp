// A deadline for a group of asynchronous operations: when it fires it runs `on_expire` (which
// closes or cancels the sockets involved), and the awaiting code sees its operation aborted and
// asks fired() whether that was the deadline. Boost 1.74 has no awaitable operators, so this is
// how every timeout in the gateway is built.
#pragma once

#include <functional>

#include "proxy/asio.hpp"

namespace rdpbridge::proxy {

class Watchdog {
  public:
    explicit Watchdog(const asio::any_io_executor& ex) : timer_(ex) {}

    template <class Rep, class Period>
    void arm(std::chrono::duration<Rep, Period> timeout, std::function<void()> on_expire) {
        fired_ = false;
        timer_.expires_after(timeout);
        timer_.async_wait([this, fn = std::move(on_expire)](const boost::system::error_code& ec) {
            if (ec) return;  // disarmed or re-armed
            fired_ = true;
            fn();
        });
    }
    void disarm() { timer_.cancel(); }
    bool fired() const { return fired_; }

  private:
    asio::steady_timer timer_;
    bool fired_ = false;
};

}  // namespace rdpbridge::proxy
