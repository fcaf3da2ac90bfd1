#include "proxy/probe/pdus.hpp"

#include "rdp/client_data.hpp"
#include "rdp/mcs.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::probe {

using rdp::Bytes;

Bytes connection_request(uint32_t requested_protocols, bool with_negotiation) {
    rdp::ConnectionRequest request;
    request.mstshash = kProbeCookie;
    if (with_negotiation) request.negotiation = rdp::NegotiationRequest{0, requested_protocols};
    return rdp::encode(request);
}

std::vector<rdp::gcc::DataBlock> client_blocks(uint32_t encryption_methods,
                                               uint32_t server_selected_protocol) {
    rdp::gcc::ClientCore core;
    core.client_name = kProbeClientName;
    core.server_selected_protocol = server_selected_protocol;
    return {rdp::gcc::encode(core), rdp::gcc::client_security(encryption_methods),
            rdp::gcc::client_network_without_channels()};
}

rdp::Result<Bytes> connect_initial(uint32_t encryption_methods, uint32_t server_selected_protocol) {
    rdp::mcs::ConnectPdu pdu;
    pdu.direction = rdp::gcc::Direction::request;
    pdu.fields_before_user_data = rdp::mcs::encode(rdp::mcs::InitialFields{});
    pdu.conference.direction = rdp::gcc::Direction::request;
    pdu.conference.connect_pdu_header = rdp::gcc::conference_create_request_header();
    pdu.conference.blocks = client_blocks(encryption_methods, server_selected_protocol);
    return rdp::mcs::encode(pdu);
}

}  // namespace rdpbridge::probe
