// Where blocking calls run: GSSAPI (its NTLM package reads nla_users on every authentication, and
// Kerberos may wait for a KDC). A worker's loop relays many sessions; one of them waiting here must
// not stall the others, so the call runs on this pool and the session's coroutine resumes on its
// own loop when the call returns. (The gateway's pool has one thread: see GatewayState.)
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>

#include "proxy/asio.hpp"

namespace rdpbridge::proxy {

class BlockingPool {
  public:
    explicit BlockingPool(std::size_t threads) : pool_(threads) {}
    ~BlockingPool() { pool_.join(); }
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;

    // Runs `f()` on the pool; the awaiting coroutine resumes on its own executor. Whatever `f`
    // touches stays alive meanwhile: the coroutine awaiting it is suspended, not destroyed.
    // Exceptions from `f` are rethrown to the awaiting coroutine.
    template <class F>
    awaitable<void> run(F&& f) {
        // g++ 12 may destroy a temporary of a co_await full-expression twice (the lambda
        // passed here is one): a lambda that owns something would be freed twice.
        static_assert(std::is_trivially_destructible_v<std::remove_reference_t<F>>,
                      "capture by reference only: see the comment above");
        co_await asio::co_spawn(
            pool_,
            [&f]() -> awaitable<void> {
                f();
                co_return;
            },
            use_awaitable);
    }

    // run() for a callable with a result: returns what `f()` returned.
    template <class F>
    awaitable<std::invoke_result_t<F&>> call(F&& f) {
        static_assert(std::is_trivially_destructible_v<std::remove_reference_t<F>>,
                      "capture by reference only: see run()");
        std::optional<std::invoke_result_t<F&>> result;
        co_await run([&] { result.emplace(f()); });
        co_return std::move(*result);
    }

  private:
    asio::thread_pool pool_;
};

}  // namespace rdpbridge::proxy
