// Turns what OpenSSL reports about a failed handshake — the error queue's reason, the alerts
// that crossed the wire, the verify result — into the diagnosis vocabulary of rdp/diagnosis.hpp.
#pragma once

#include <openssl/ssl.h>

#include "rdp/diagnosis.hpp"

namespace rdpbridge::tls {

enum class Side { front, backend };

// Alerts seen on one SSL object, recorded by an info callback (see attach_alert_trace).
struct AlertTrace {
    int received = -1;  // TLS alert description, -1 when none
    int sent = -1;
};

// Installs the callback that fills `trace` for `ssl`; `trace` must outlive the handshake.
void attach_alert_trace(SSL* ssl, AlertTrace* trace);

// `openssl_error` is the packed error (ERR_get_error() / asio's ssl error value), 0 if none.
rdp::Failure diagnose_handshake(Side side, unsigned long openssl_error, const AlertTrace& alerts,
                                long verify_result, const std::string& transport_detail);

}  // namespace rdpbridge::tls
