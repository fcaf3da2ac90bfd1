// The one way this project includes Asio. Boost 1.74's awaitable.hpp uses std::exchange without
// including <utility>; g++ 12 in C++20 mode then fails on the first include. Including it here,
// first, fixes that for every file. Keep this header out of widely included headers: one
// translation unit with Asio+SSL costs ~25 s to compile on a 2-core machine.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace rdpbridge::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
template <class T>
using awaitable = asio::awaitable<T>;
using asio::use_awaitable;

}  // namespace rdpbridge::proxy
