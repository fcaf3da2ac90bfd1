#include "proxy/transport_errors.hpp"

#include <string>

#include "proxy/asio.hpp"

namespace rdpbridge::proxy {

namespace {

namespace aerr = boost::asio::error;
using rdp::Cause;

std::string progress(rdp::Stage stage, std::size_t bytes) {
    return " after " + std::to_string(bytes) + " byte(s) received in stage " +
           std::string(rdp::to_string(stage));
}

std::string errno_text(const boost::system::error_code& ec) {
    return ec.message() + " (" + ec.category().name() + ":" + std::to_string(ec.value()) + ")";
}

}  // namespace

rdp::Failure transport_failure(Peer peer, rdp::Stage stage, const boost::system::error_code& ec,
                               bool timed_out, std::size_t bytes_received) {
    const bool client = peer == Peer::client;
    if (timed_out) {
        return {client ? Cause::client_silent : Cause::host_silent,
                "no complete answer within the deadline" + progress(stage, bytes_received)};
    }
    if (ec == aerr::eof || ec == aerr::broken_pipe || ec == aerr::not_connected) {
        return {client ? Cause::client_closed : Cause::host_closed,
                "closed" + progress(stage, bytes_received)};
    }
    if (ec == aerr::connection_reset) {
        return {client ? Cause::client_reset : Cause::host_reset,
                "reset" + progress(stage, bytes_received)};
    }
    return {client ? Cause::client_closed : Cause::host_closed,
            errno_text(ec) + progress(stage, bytes_received)};
}

rdp::Failure resolve_failure(const boost::system::error_code& ec, bool timed_out,
                             const std::string& host) {
    if (timed_out) return {Cause::dns_failed, "resolving " + host + " timed out"};
    if (ec == aerr::host_not_found || ec == aerr::no_data)
        return {Cause::dns_not_found, host + ": " + errno_text(ec)};
    return {Cause::dns_failed, host + ": " + errno_text(ec)};
}

rdp::Failure connect_failure(const boost::system::error_code& ec, bool timed_out,
                             const std::string& endpoint) {
    if (timed_out || ec == aerr::timed_out)
        return {Cause::connection_timed_out, endpoint + " did not answer in time"};
    const std::string detail = endpoint + ": " + errno_text(ec);
    if (ec == aerr::connection_refused) return {Cause::connection_refused, detail};
    if (ec == aerr::host_unreachable) return {Cause::host_unreachable, detail};
    if (ec == aerr::network_unreachable) return {Cause::network_unreachable, detail};
    return {Cause::connect_failed, detail};
}

}  // namespace rdpbridge::proxy
