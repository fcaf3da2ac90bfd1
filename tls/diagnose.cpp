#include "tls/diagnose.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <string>

namespace rdpbridge::tls {

namespace {

using rdp::Cause;

int trace_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

void on_info(const SSL* ssl, int where, int value) {
    if (!(where & SSL_CB_ALERT)) return;
    auto* trace = static_cast<AlertTrace*>(SSL_get_ex_data(ssl, trace_index()));
    if (!trace) return;
    const int description = value & 0xFF;
    if (where & SSL_CB_READ)
        trace->received = description;
    else
        trace->sent = description;
}

std::string alert_text(int description) {
    return std::string(SSL_alert_desc_string_long(description));
}

Cause verify_cause(long verify_result) {
    switch (verify_result) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return Cause::host_certificate_expired;
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return Cause::host_certificate_not_yet_valid;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return Cause::host_certificate_name_mismatch;
        default:
            return Cause::host_certificate_untrusted;
    }
}

bool is_certificate_alert(int description) {
    return description == SSL_AD_UNKNOWN_CA || description == SSL_AD_BAD_CERTIFICATE ||
           description == SSL_AD_CERTIFICATE_UNKNOWN ||
           description == SSL_AD_UNSUPPORTED_CERTIFICATE;
}

Cause classify(Side side, int reason, const AlertTrace& alerts) {
    const bool front = side == Side::front;
    if (front && is_certificate_alert(alerts.received)) return Cause::client_rejected_certificate;
    switch (reason) {
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_VERSION_TOO_HIGH:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
            return front ? Cause::front_tls_version_too_old : Cause::host_tls_version_mismatch;
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_CIPHERS_AVAILABLE:
        case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        case SSL_R_WRONG_CIPHER_RETURNED:
            return front ? Cause::front_no_shared_cipher : Cause::host_no_shared_cipher;
        case SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED:
            return front ? Cause::front_tls_failed : Cause::host_requires_insecure_renegotiation;
        default:
            break;
    }
    if (alerts.received == SSL_AD_PROTOCOL_VERSION)
        return front ? Cause::front_tls_version_too_old : Cause::host_tls_version_mismatch;
    if (alerts.received == SSL_AD_HANDSHAKE_FAILURE ||
        alerts.received == SSL_AD_INSUFFICIENT_SECURITY)
        return front ? Cause::front_no_shared_cipher : Cause::host_no_shared_cipher;
    return front ? Cause::front_tls_failed : Cause::host_tls_failed;
}

}  // namespace

void attach_alert_trace(SSL* ssl, AlertTrace* trace) {
    SSL_set_ex_data(ssl, trace_index(), trace);
    SSL_set_info_callback(ssl, on_info);
}

rdp::Failure diagnose_handshake(Side side, unsigned long openssl_error, const AlertTrace& alerts,
                                long verify_result, const std::string& transport_detail) {
    std::string detail;
    if (openssl_error) {
        char buf[256];
        ERR_error_string_n(openssl_error, buf, sizeof buf);
        detail = buf;
    } else {
        detail = transport_detail;
    }
    if (alerts.received >= 0) detail += "; alert received: " + alert_text(alerts.received);
    if (alerts.sent >= 0) detail += "; alert sent: " + alert_text(alerts.sent);

    const int reason = openssl_error ? ERR_GET_REASON(openssl_error) : 0;
    if (side == Side::backend && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        detail += std::string("; verify: ") + X509_verify_cert_error_string(verify_result);
        return {verify_cause(verify_result), detail};
    }
    return {classify(side, reason, alerts), detail};
}

}  // namespace rdpbridge::tls
