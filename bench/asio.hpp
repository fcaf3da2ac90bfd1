// The one way bench/ includes Asio. Boost 1.74's awaitable.hpp uses std::exchange without
// including <utility>; g++ 12 in C++20 mode then fails on the first include, so <utility> comes
// first (proxy/asio.hpp does the same for the gateway). Only the peer sources include this: one
// translation unit with Asio+SSL costs ~25 s to compile on a 2-core machine.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace rdpbridge::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
template <class T>
using awaitable = asio::awaitable<T>;
using asio::use_awaitable;
using SslStream = asio::ssl::stream<tcp::socket>;

}  // namespace rdpbridge::bench
