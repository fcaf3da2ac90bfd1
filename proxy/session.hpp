// One client connection, from accept to close, as one coroutine.
#pragma once

#include <string>

#include "proxy/asio.hpp"
#include "proxy/gateway_state.hpp"

namespace rdpbridge::proxy {

// `source` is the client's address, already admitted (see Admission).
awaitable<void> run_session(GatewayState& gateway, const ListenerRuntime& listener,
                            tcp::socket client, std::string id, std::string source);

}  // namespace rdpbridge::proxy
