// One client connection, from accept to close, as one coroutine.
#pragma once

#include <string>

#include "proxy/asio.hpp"
#include "proxy/gateway_state.hpp"

namespace rdpbridge::proxy {

awaitable<void> run_session(GatewayState& gateway, const ListenerRuntime& listener,
                            tcp::socket client, std::string id);

}  // namespace rdpbridge::proxy
