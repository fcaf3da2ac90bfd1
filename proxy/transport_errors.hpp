// Socket-level outcomes (EOF, reset, errno, resolver codes, our own deadlines) mapped into the
// diagnosis vocabulary, always saying how far the handshake got.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstddef>

#include "rdp/diagnosis.hpp"

namespace rdpbridge::proxy {

enum class Peer { client, host };

// A read or write on an established connection failed or hit end of stream.
rdp::Failure transport_failure(Peer peer, rdp::Stage stage, const boost::system::error_code& ec,
                               bool timed_out, std::size_t bytes_received);

// Resolving or connecting to the backend failed.
rdp::Failure resolve_failure(const boost::system::error_code& ec, bool timed_out,
                             const std::string& host);
rdp::Failure connect_failure(const boost::system::error_code& ec, bool timed_out,
                             const std::string& endpoint);

}  // namespace rdpbridge::proxy
