// bench/ uses the gateway's own Asio include (proxy/asio.hpp carries the Boost 1.74 <utility>
// workaround) and the same short names. Only the peer sources include this: one translation
// unit with Asio+SSL costs ~25 s to compile on a 2-core machine.
#pragma once

#include "proxy/asio.hpp"

namespace rdpbridge::bench {

namespace asio = boost::asio;
using asio::use_awaitable;
using proxy::awaitable;
using proxy::tcp;
using SslStream = asio::ssl::stream<tcp::socket>;

}  // namespace rdpbridge::bench
