// The Client Info PDU's TS_INFO_PACKET ([MS-RDPBCGR] 2.2.1.11.1.1): the user, domain and
// password a client hands the host, and how the bridge fills them in for auto-logon.
//
// A gateway that ran NLA (CredSSP) with the client holds the client's delegated password; a host
// without NLA (TLS only, or Standard RDP Security) takes the credentials from the Client Info
// instead, and logs the user on without a login screen when INFO_AUTOLOGON is set. mstsc after
// NLA sends its Client Info with an empty password: with_credentials() writes the delegated one.
#pragma once

#include <cstdint>

#include "rdp/bytes.hpp"
#include "rdp/credssp.hpp"
#include "rdp/secret.hpp"

namespace rdpbridge::rdp::client_info {

// TS_INFO_PACKET.flags that matter here.
inline constexpr uint32_t info_mouse = 0x00000001;
inline constexpr uint32_t info_autologon = 0x00000008;
inline constexpr uint32_t info_unicode = 0x00000010;
inline constexpr uint32_t info_logonnotify = 0x00000040;
inline constexpr uint32_t info_password_is_sc_pin = 0x00040000;

// CodePage, flags and the five cb* fields.
inline constexpr std::size_t kFixedSize = 4 + 4 + 5 * 2;

// One TS_INFO_PACKET, decoded without copying: every view points into the decoded bytes. The
// five strings are as on the wire without their terminator (UTF-16LE when INFO_UNICODE is set,
// else ANSI in CodePage). `password` is the client's own password: never log it.
struct InfoPacket {
    uint32_t code_page = 0;
    uint32_t flags = 0;
    ByteView domain;
    ByteView user_name;
    ByteView password;
    ByteView alternate_shell;
    ByteView working_dir;
    // TS_EXTENDED_INFO_PACKET (RDP 5.0+), kept opaque; empty for an RDP 4.0 client.
    ByteView extended;

    bool unicode() const { return (flags & info_unicode) != 0; }
};

// `info_packet` starts at CodePage (after the basic security header) and ends with the Send
// Data Request's user data. Each string must be there with its terminator (two zero bytes when
// INFO_UNICODE is set, one otherwise) and, in UTF-16LE, have an even cb*; an Error names the
// field ("client_info.cbPassword", "client_info.password", ...) but never quotes its content.
Result<InfoPacket> decode(ByteView info_packet);

// The same TS_INFO_PACKET with domain, user name and password replaced by `credentials`
// (domain and user converted from UTF-8, the password taken as the UTF-16LE it holds), flags
// |= INFO_AUTOLOGON and INFO_PASSWORD_IS_SC_PIN cleared (the password is no smart-card PIN);
// CodePage, the other flags, the alternate shell, the working directory and the extended info
// are kept byte for byte. The result holds the password in clear, hence a Secret; it is
// written into one buffer reserved up front, so no other copy of the password is left behind.
//
// Only a Unicode Client Info is rewritten (every RDP 5+ client, FreeRDP, rdesktop and mstsc,
// sets INFO_UNICODE): an ANSI one is an Error on "client_info.flags", since its alternate shell
// and working directory would have to be converted from an arbitrary code page. The Error
// messages never contain the password.
Result<Secret> with_credentials(ByteView info_packet,
                                const credssp::PasswordCredentials& credentials);

}  // namespace rdpbridge::rdp::client_info
