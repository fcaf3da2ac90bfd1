#include "rdp/client_data.hpp"

#include "rdp/ber.hpp"

namespace rdpbridge::rdp::gcc {

namespace {

// Fixed-size UTF-16LE field of `bytes` octets; ASCII only, as the names we send are ours.
void utf16_fixed(Writer& w, std::string_view ascii, std::size_t bytes) {
    std::size_t written = 0;
    for (char c : ascii) {
        if (written + 4 > bytes) break;  // keep the terminating NUL
        w.u16le(uint16_t(static_cast<unsigned char>(c)));
        written += 2;
    }
    for (; written < bytes; ++written) w.u8(0);
}

void zeros(Writer& w, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) w.u8(0);
}

}  // namespace

DataBlock encode(const ClientCore& core) {
    DataBlock b{block::cs_core, {}};
    Writer w(b.body);
    w.u32le(core.version);
    w.u16le(core.desktop_width);
    w.u16le(core.desktop_height);
    w.u16le(core.color_depth);
    w.u16le(core.sas_sequence);
    w.u32le(core.keyboard_layout);
    w.u32le(core.client_build);
    utf16_fixed(w, core.client_name, 32);
    w.u32le(core.keyboard_type);
    w.u32le(core.keyboard_sub_type);
    w.u32le(core.keyboard_function_keys);
    zeros(w, 64);  // imeFileName
    w.u16le(core.post_beta2_color_depth);
    w.u16le(core.client_product_id);
    w.u32le(core.serial_number);
    w.u16le(core.high_color_depth);
    w.u16le(core.supported_color_depths);
    w.u16le(core.early_capability_flags);
    zeros(w, 64);  // clientDigProductId
    w.u8(core.connection_type);
    w.u8(0);  // pad1octet
    w.u32le(core.server_selected_protocol);
    return b;
}

DataBlock client_security(uint32_t encryption_methods) {
    DataBlock b{block::cs_security, {}};
    Writer w(b.body);
    w.u32le(encryption_methods);
    w.u32le(0);  // extEncryptionMethods
    return b;
}

DataBlock client_network_without_channels() {
    DataBlock b{block::cs_net, {}};
    Writer w(b.body);
    w.u32le(0);  // channelCount
    return b;
}

Bytes conference_create_request_header() {
    return {0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xC0, 0x00, 'D', 'u', 'c', 'a'};
}

}  // namespace rdpbridge::rdp::gcc

namespace rdpbridge::rdp::mcs {

namespace {

constexpr uint8_t kBoolean = 0x01;

// DER's shortest INTEGERs and lengths are what clients send here (BER would allow others).
void domain_parameters(Bytes& out, const DomainParameters& values) {
    ber::DerWriter der(out);
    der.begin(ber::kSequence);
    for (uint32_t v : values) der.integer(v);
    der.end();
}

}  // namespace

Bytes encode(const InitialFields& fields) {
    Bytes out;
    Writer w(out);
    const uint8_t domain_selector = 0x01;
    ber::write_header(w, ber::kOctetString, 1);  // callingDomainSelector
    w.u8(domain_selector);
    ber::write_header(w, ber::kOctetString, 1);  // calledDomainSelector
    w.u8(domain_selector);
    ber::write_header(w, kBoolean, 1);  // upwardFlag
    w.u8(0xFF);
    domain_parameters(out, fields.target);
    domain_parameters(out, fields.minimum);
    domain_parameters(out, fields.maximum);
    return out;
}

}  // namespace rdpbridge::rdp::mcs
