// One client connection, from accept to close, as one coroutine.
#pragma once

#include <string>

#include "proxy/asio.hpp"
#include "proxy/gateway_state.hpp"

namespace rdpbridge::proxy {

// `peer` is the client's address as accept(2) reported it; `ticket` holds the connection's
// admission (see Admission) until the session ends. The session
// ends in exactly one `session_closed` or `handshake_failed` event, whatever happens inside; only
// a failure to write that event can escape the coroutine.
awaitable<void> run_session(GatewayState& gateway, const ListenerRuntime& listener,
                            tcp::socket client, tcp::endpoint peer, std::string id,
                            AdmissionTicket ticket);

}  // namespace rdpbridge::proxy
