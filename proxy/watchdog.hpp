// A deadline for a group of asynchronous operations: when it fires it runs `on_expire` (which
// closes or cancels the sockets involved), and the awaiting code sees its operation aborted and
// asks fired() whether that was the deadline. Boost 1.74 has no awaitable operators, so this is
// how every timeout in the gateway is built.
//
// Cancelling a timer does not recall a completion that is already queued: a deadline that
// expires in the same pass of the event loop as the work it guards ends still arrives, with
// success. So the handler does not trust the error code; it holds a weak reference to the
// watchdog's state and the generation it was armed for, and acts only if the watchdog still
// exists and was neither disarmed nor re-armed since. `on_expire` therefore runs only while the
// watchdog (and whatever owns it) is alive.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "proxy/asio.hpp"

namespace rdpbridge::proxy {

class Watchdog {
  public:
    explicit Watchdog(const asio::any_io_executor& ex)
        : timer_(ex), state_(std::make_shared<State>()) {}
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    template <class Rep, class Period>
    void arm(std::chrono::duration<Rep, Period> timeout, std::function<void()> on_expire) {
        const uint64_t generation = ++state_->generation;
        state_->fired = false;
        timer_.expires_after(timeout);
        timer_.async_wait([state = std::weak_ptr<State>(state_), generation,
                           fn = std::move(on_expire)](const boost::system::error_code& ec) {
            const auto live = state.lock();
            if (ec || !live || live->generation != generation) return;
            live->fired = true;
            fn();
        });
    }
    void disarm() {
        ++state_->generation;
        timer_.cancel();
    }
    bool fired() const { return state_->fired; }

  private:
    struct State {
        uint64_t generation = 0;
        bool fired = false;
    };
    asio::steady_timer timer_;
    std::shared_ptr<State> state_;
};

}  // namespace rdpbridge::proxy
