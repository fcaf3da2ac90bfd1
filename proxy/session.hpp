// One client connection, from accept to close, as one coroutine.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "proxy/asio.hpp"
#include "proxy/gateway_state.hpp"

namespace rdpbridge::proxy {

// `generation` is the configuration the connection was accepted under (`listener` is one of its
// listeners), held to the session's end; `peer` is the client's address as accept(2) reported
// it; `ticket` holds the connection's admission (see Admission) until the session ends. The
// session ends in exactly one `session_closed` or `handshake_failed` event, whatever happens
// inside; only a failure to write that event can escape the coroutine.
awaitable<void> run_session(GatewayState& gateway, std::shared_ptr<const Generation> generation,
                            const ListenerRuntime& listener, tcp::socket client, tcp::endpoint peer,
                            std::string id, std::optional<AdmissionTicket> ticket);

}  // namespace rdpbridge::proxy
