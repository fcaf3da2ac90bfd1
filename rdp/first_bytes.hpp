// What a client that does not open with an X.224 Connection Request is speaking instead, from
// its first bytes: the diagnosis tells an admin "this is a browser" or "this client skipped
// the RDP preamble and started TLS" rather than "garbage".
#pragma once

#include "rdp/bytes.hpp"
#include "rdp/diagnosis.hpp"

namespace rdpbridge::rdp {

// client_spoke_tls, client_spoke_http (including RD Gateway's RDG_* verbs) or client_not_rdp.
// A prefix of an HTTP verb of at least 3 bytes counts: the client may have sent no more yet.
Cause classify_first_bytes(ByteView first);

// A TLS record header (change_cipher_spec, alert, handshake or application_data, version 3.x):
// what a TLS-only service sends, or answers with, where RDP expects TPKT.
bool is_tls_record(ByteView first);

}  // namespace rdpbridge::rdp
