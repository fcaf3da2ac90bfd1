#include "rdp/error_info.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace rdpbridge::rdp {

namespace {

// [MS-RDPBCGR] 2.2.5.1.1, errorInfo. Names as the spec writes them (including its spellings,
// e.g. BADSUPRESSOUTPUTPDU and DISCONNECTED_BY_OTHERCONNECTION); descriptions in our words.
// Kept sorted by code: the static_assert below and the unit test hold it so.
constexpr std::array kTable = {
    // Protocol-independent codes.
    ErrorInfoEntry{
        0x00000000, "ERRINFO_NONE",
        "No error: the server reports nothing to explain, and the code is to be ignored."},
    ErrorInfoEntry{
        0x00000001, "ERRINFO_RPC_INITIATED_DISCONNECT",
        "An administrator disconnected the session with a management tool from another session."},
    ErrorInfoEntry{0x00000002, "ERRINFO_RPC_INITIATED_LOGOFF",
                   "An administrator forced a logoff with a management tool from another session."},
    ErrorInfoEntry{0x00000003, "ERRINFO_IDLE_TIMEOUT",
                   "The server's idle session time limit ran out."},
    ErrorInfoEntry{0x00000004, "ERRINFO_LOGON_TIMEOUT",
                   "The server's active session time limit ran out."},
    ErrorInfoEntry{0x00000005, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION",
                   "Another connection took over the session, so this one was dropped."},
    ErrorInfoEntry{0x00000006, "ERRINFO_OUT_OF_MEMORY", "The server ran out of memory."},
    ErrorInfoEntry{0x00000007, "ERRINFO_SERVER_DENIED_CONNECTION",
                   "The server refused the connection."},
    ErrorInfoEntry{0x00000009, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES",
                   "The user does not have the right to connect to this server."},
    ErrorInfoEntry{0x0000000A, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED",
                   "The server does not accept saved credentials: the user has to type them for "
                   "every connection."},
    ErrorInfoEntry{0x0000000B, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER",
                   "A management tool running in the user's own session disconnected it."},
    ErrorInfoEntry{0x0000000C, "ERRINFO_LOGOFF_BY_USER", "The user logged off the remote session."},
    ErrorInfoEntry{0x0000000F, "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY",
                   "The session's display driver did not report ready within the startup time."},
    ErrorInfoEntry{0x00000010, "ERRINFO_SERVER_DWM_CRASH",
                   "The Desktop Window Manager in the remote session stopped unexpectedly."},
    ErrorInfoEntry{0x00000011, "ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE",
                   "The session's display driver could not finish starting up."},
    ErrorInfoEntry{0x00000012, "ERRINFO_CLOSE_STACK_ON_DRIVER_IFACE_FAILURE",
                   "The session's display driver started but the remoting stack could not use it."},
    ErrorInfoEntry{0x00000017, "ERRINFO_SERVER_WINLOGON_CRASH",
                   "The Winlogon process in the remote session stopped unexpectedly."},
    ErrorInfoEntry{0x00000018, "ERRINFO_SERVER_CSRSS_CRASH",
                   "The CSRSS process in the remote session stopped unexpectedly."},
    ErrorInfoEntry{0x00000019, "ERRINFO_SERVER_SHUTDOWN", "The server is shutting down."},
    ErrorInfoEntry{0x0000001A, "ERRINFO_SERVER_REBOOT", "The server is restarting."},
    // Protocol-independent licensing codes.
    ErrorInfoEntry{0x00000100, "ERRINFO_LICENSE_INTERNAL",
                   "The server's licensing component hit an internal error."},
    ErrorInfoEntry{0x00000101, "ERRINFO_LICENSE_NO_LICENSE_SERVER",
                   "No Remote Desktop license server could be found to issue a license."},
    ErrorInfoEntry{0x00000102, "ERRINFO_LICENSE_NO_LICENSE",
                   "No Client Access License is left for this server."},
    ErrorInfoEntry{0x00000103, "ERRINFO_LICENSE_BAD_CLIENT_MSG",
                   "The server received an invalid licensing message from the client."},
    ErrorInfoEntry{0x00000104, "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE",
                   "The license the client stored has been modified."},
    ErrorInfoEntry{0x00000105, "ERRINFO_LICENSE_BAD_CLIENT_LICENSE",
                   "The license the client stored is malformed."},
    ErrorInfoEntry{0x00000106, "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL",
                   "Network problems cut the licensing exchange short."},
    ErrorInfoEntry{0x00000107, "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL",
                   "The client ended the licensing exchange early."},
    ErrorInfoEntry{0x00000108, "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION",
                   "A licensing message was encrypted incorrectly."},
    ErrorInfoEntry{0x00000109, "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE",
                   "The license the client stored could not be upgraded or renewed."},
    ErrorInfoEntry{0x0000010A, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS",
                   "The server is not licensed to accept remote connections."},
    // Protocol-independent codes generated by the Connection Broker.
    ErrorInfoEntry{0x00000400, "ERRINFO_CB_DESTINATION_NOT_FOUND",
                   "The Connection Broker could not find the target endpoint."},
    ErrorInfoEntry{0x00000402, "ERRINFO_CB_LOADING_DESTINATION",
                   "The endpoint the client is being redirected to is disconnecting from the "
                   "Connection Broker."},
    ErrorInfoEntry{0x00000404, "ERRINFO_CB_REDIRECTING_TO_DESTINATION",
                   "Redirecting the connection to the target endpoint failed."},
    ErrorInfoEntry{0x00000405, "ERRINFO_CB_SESSION_ONLINE_VM_WAKE",
                   "Waking the target virtual machine failed."},
    ErrorInfoEntry{0x00000406, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT",
                   "Starting the target virtual machine failed."},
    ErrorInfoEntry{0x00000407, "ERRINFO_CB_SESSION_ONLINE_VM_NO_DNS",
                   "The IP address of the target virtual machine could not be determined."},
    ErrorInfoEntry{0x00000408, "ERRINFO_CB_DESTINATION_POOL_NOT_FREE",
                   "No endpoint is free in the pool the Connection Broker manages."},
    ErrorInfoEntry{0x00000409, "ERRINFO_CB_CONNECTION_CANCELLED",
                   "The connection was cancelled while being processed."},
    ErrorInfoEntry{0x00000410, "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS",
                   "The settings in the routing token of the X.224 Connection Request could not be "
                   "validated."},
    ErrorInfoEntry{0x00000411, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT_TIMEOUT",
                   "The target virtual machine took too long to start."},
    ErrorInfoEntry{0x00000412, "ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED",
                   "Session monitoring failed while the target virtual machine was starting."},
    // RDP-specific codes.
    ErrorInfoEntry{0x000010C9, "ERRINFO_UNKNOWNPDUTYPE2",
                   "The server received a Share Data Header with an unknown pduType2."},
    ErrorInfoEntry{0x000010CA, "ERRINFO_UNKNOWNPDUTYPE",
                   "The server received a Share Control Header with an unknown pduType."},
    ErrorInfoEntry{0x000010CB, "ERRINFO_DATAPDUSEQUENCE",
                   "The server received a slow-path data PDU out of sequence."},
    ErrorInfoEntry{0x000010CD, "ERRINFO_CONTROLPDUSEQUENCE",
                   "The server received a slow-path non-data PDU out of sequence."},
    ErrorInfoEntry{0x000010CE, "ERRINFO_INVALIDCONTROLPDUACTION",
                   "The server received a Control PDU with an invalid action."},
    ErrorInfoEntry{0x000010CF, "ERRINFO_INVALIDINPUTPDUTYPE",
                   "The server received an input event of an invalid type (slow-path messageType "
                   "or fast-path eventCode)."},
    ErrorInfoEntry{0x000010D0, "ERRINFO_INVALIDINPUTPDUMOUSE",
                   "The server received a mouse event with invalid pointer flags."},
    ErrorInfoEntry{0x000010D1, "ERRINFO_INVALIDREFRESHRECTPDU",
                   "The server received an invalid Refresh Rect PDU."},
    ErrorInfoEntry{
        0x000010D2, "ERRINFO_CREATEUSERDATAFAILED",
        "The server could not build the user data of its GCC Conference Create Response."},
    ErrorInfoEntry{0x000010D3, "ERRINFO_CONNECTFAILED",
                   "The channel connection phase of the connection sequence failed on the server."},
    ErrorInfoEntry{0x000010D4, "ERRINFO_CONFIRMACTIVEWRONGSHAREID",
                   "The client's Confirm Active PDU carried a wrong shareId."},
    ErrorInfoEntry{0x000010D5, "ERRINFO_CONFIRMACTIVEWRONGORIGINATOR",
                   "The client's Confirm Active PDU carried a wrong originatorId."},
    ErrorInfoEntry{0x000010DA, "ERRINFO_PERSISTENTKEYPDUBADLENGTH",
                   "A Persistent Key List PDU was too short to process."},
    ErrorInfoEntry{0x000010DB, "ERRINFO_PERSISTENTKEYPDUILLEGALFIRST",
                   "A second Persistent Key List PDU was also marked as the first one."},
    ErrorInfoEntry{
        0x000010DC, "ERRINFO_PERSISTENTKEYPDUTOOMANYTOTALKEYS",
        "A Persistent Key List PDU announced more than 262144 bitmap cache entries in total."},
    ErrorInfoEntry{0x000010DD, "ERRINFO_PERSISTENTKEYPDUTOOMANYCACHEKEYS",
                   "A Persistent Key List PDU announced more keys than a bitmap cache can hold."},
    ErrorInfoEntry{0x000010DE, "ERRINFO_INPUTPDUBADLENGTH",
                   "An input event PDU (slow-path or fast-path) was too short to process."},
    ErrorInfoEntry{0x000010DF, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH",
                   "A Bitmap Cache Error PDU was too short to read its header fields."},
    ErrorInfoEntry{
        0x000010E0, "ERRINFO_SECURITYDATATOOSHORT",
        "A fast-path input PDU was too short for its data signature or FIPS information."},
    ErrorInfoEntry{
        0x000010E1, "ERRINFO_VCHANNELDATATOOSHORT",
        "Virtual channel data was too short (in the Client Network Data or a Channel PDU Header)."},
    ErrorInfoEntry{
        0x000010E2, "ERRINFO_SHAREDATATOOSHORT",
        "A slow-path PDU was too short for its share headers or its Control or Font List data."},
    ErrorInfoEntry{
        0x000010E3, "ERRINFO_BADSUPRESSOUTPUTPDU",
        "A Suppress Output PDU was too short or had an invalid allowDisplayUpdates field."},
    ErrorInfoEntry{0x000010E5, "ERRINFO_CONFIRMACTIVEPDUTOOSHORT",
                   "The client's Confirm Active PDU was too short."},
    ErrorInfoEntry{0x000010E7, "ERRINFO_CAPABILITYSETTOOSMALL",
                   "A capability set was too short to read its type and length."},
    ErrorInfoEntry{0x000010E8, "ERRINFO_CAPABILITYSETTOOLARGE",
                   "A capability set's length ran past the end of the received data."},
    ErrorInfoEntry{0x000010E9, "ERRINFO_NOCURSORCACHE",
                   "The client's Pointer Capability Set announced no pointer cache at all."},
    ErrorInfoEntry{
        0x000010EA, "ERRINFO_BADCAPABILITIES",
        "The server did not accept the capabilities in the client's Confirm Active PDU."},
    ErrorInfoEntry{0x000010EC, "ERRINFO_VIRTUALCHANNELDECOMPRESSIONERR",
                   "Decompressing a virtual channel PDU with the bulk compressor failed."},
    ErrorInfoEntry{0x000010ED, "ERRINFO_INVALIDVCCOMPRESSIONTYPE",
                   "A Channel PDU Header named an invalid bulk compression package."},
    ErrorInfoEntry{0x000010EF, "ERRINFO_INVALIDCHANNELID",
                   "A virtual channel PDU was sent on an invalid MCS channel."},
    ErrorInfoEntry{0x000010F0, "ERRINFO_VCHANNELSTOOMANY",
                   "The client asked for more than the 31 static virtual channels allowed."},
    ErrorInfoEntry{0x000010F3, "ERRINFO_REMOTEAPPSNOTENABLED",
                   "The server only hosts remote applications, but the client did not ask for "
                   "RemoteApp (INFO_RAIL)."},
    ErrorInfoEntry{0x000010F4, "ERRINFO_CACHECAPNOTSET",
                   "The client sent a Persistent Key List PDU without the Revision 2 Bitmap Cache "
                   "Capability Set."},
    ErrorInfoEntry{0x000010F5, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH2",
                   "A Bitmap Cache Error PDU's block count did not match its data."},
    ErrorInfoEntry{0x000010F6, "ERRINFO_OFFSCRCACHEERRORPDUBADLENGTH",
                   "An Offscreen Bitmap Cache Error PDU was too short."},
    ErrorInfoEntry{0x000010F7, "ERRINFO_DNGCACHEERRORPDUBADLENGTH",
                   "A DrawNineGrid Cache Error PDU was too short."},
    ErrorInfoEntry{0x000010F8, "ERRINFO_GDIPLUSPDUBADLENGTH", "A GDI+ Error PDU was too short."},
    ErrorInfoEntry{0x00001111, "ERRINFO_SECURITYDATATOOSHORT2",
                   "A Basic Security Header was too short."},
    ErrorInfoEntry{0x00001112, "ERRINFO_SECURITYDATATOOSHORT3",
                   "A Non-FIPS or FIPS Security Header was too short."},
    ErrorInfoEntry{0x00001113, "ERRINFO_SECURITYDATATOOSHORT4",
                   "The Security Exchange PDU was too short for its header and length."},
    ErrorInfoEntry{0x00001114, "ERRINFO_SECURITYDATATOOSHORT5",
                   "The Info Packet was too short for its fields and strings (domain, user, "
                   "password, shell, directory)."},
    ErrorInfoEntry{
        0x00001115, "ERRINFO_SECURITYDATATOOSHORT6",
        "The Info Packet was too short for its fixed fields (code page, flags, string lengths)."},
    ErrorInfoEntry{
        0x00001116, "ERRINFO_SECURITYDATATOOSHORT7",
        "The Extended Info Packet was too short for the client address family and length."},
    ErrorInfoEntry{0x00001117, "ERRINFO_SECURITYDATATOOSHORT8",
                   "The Extended Info Packet was too short for the client address."},
    ErrorInfoEntry{0x00001118, "ERRINFO_SECURITYDATATOOSHORT9",
                   "The Extended Info Packet was too short for the client directory length."},
    ErrorInfoEntry{0x00001119, "ERRINFO_SECURITYDATATOOSHORT10",
                   "The Extended Info Packet was too short for the client directory."},
    ErrorInfoEntry{0x0000111A, "ERRINFO_SECURITYDATATOOSHORT11",
                   "The Extended Info Packet was too short for the client time zone."},
    ErrorInfoEntry{0x0000111B, "ERRINFO_SECURITYDATATOOSHORT12",
                   "The Extended Info Packet was too short for the client session id."},
    ErrorInfoEntry{0x0000111C, "ERRINFO_SECURITYDATATOOSHORT13",
                   "The Extended Info Packet was too short for the performance flags."},
    ErrorInfoEntry{0x0000111D, "ERRINFO_SECURITYDATATOOSHORT14",
                   "The Extended Info Packet was too short for the auto-reconnect cookie length."},
    ErrorInfoEntry{0x0000111E, "ERRINFO_SECURITYDATATOOSHORT15",
                   "The Extended Info Packet was too short for the auto-reconnect cookie."},
    ErrorInfoEntry{
        0x0000111F, "ERRINFO_SECURITYDATATOOSHORT16",
        "The Extended Info Packet's auto-reconnect cookie was longer than the 128 bytes allowed."},
    ErrorInfoEntry{0x00001120, "ERRINFO_SECURITYDATATOOSHORT17",
                   "The Extended Info Packet was too short for the client address family and "
                   "length (second check)."},
    ErrorInfoEntry{0x00001121, "ERRINFO_SECURITYDATATOOSHORT18",
                   "The Extended Info Packet was too short for the client address (second check)."},
    ErrorInfoEntry{
        0x00001122, "ERRINFO_SECURITYDATATOOSHORT19",
        "The Extended Info Packet was too short for the client directory length (second check)."},
    ErrorInfoEntry{
        0x00001123, "ERRINFO_SECURITYDATATOOSHORT20",
        "The Extended Info Packet was too short for the client directory (second check)."},
    ErrorInfoEntry{
        0x00001124, "ERRINFO_SECURITYDATATOOSHORT21",
        "The Extended Info Packet was too short for the client time zone (second check)."},
    ErrorInfoEntry{
        0x00001125, "ERRINFO_SECURITYDATATOOSHORT22",
        "The Extended Info Packet was too short for the client session id (second check)."},
    ErrorInfoEntry{0x00001126, "ERRINFO_SECURITYDATATOOSHORT23",
                   "The Client Info PDU was too short."},
    ErrorInfoEntry{0x00001129, "ERRINFO_BADMONITORDATA",
                   "The Client Monitor Data had an invalid monitor count."},
    ErrorInfoEntry{0x0000112A, "ERRINFO_VCDECOMPRESSEDREASSEMBLEFAILED",
                   "Reassembling decompressed virtual channel data failed, or it exceeded the "
                   "negotiated chunk size."},
    ErrorInfoEntry{
        0x0000112B, "ERRINFO_VCDATATOOLONG",
        "A virtual channel PDU exceeded the chunk size of the Virtual Channel Capability Set."},
    ErrorInfoEntry{0x0000112C, "ERRINFO_BAD_FRAME_ACK_DATA",
                   "A Frame Acknowledge PDU was too short."},
    ErrorInfoEntry{0x0000112D, "ERRINFO_GRAPHICSMODENOTSUPPORTED",
                   "The server does not support the graphics mode the client asked for."},
    ErrorInfoEntry{0x0000112E, "ERRINFO_GRAPHICSSUBSYSTEMRESETFAILED",
                   "The server's graphics subsystem failed to reset."},
    ErrorInfoEntry{0x0000112F, "ERRINFO_GRAPHICSSUBSYSTEMFAILED",
                   "The server's graphics subsystem failed and cannot serve the client."},
    ErrorInfoEntry{0x00001130, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOSHORT",
                   "The Extended Info Packet was too short for the time zone key name length."},
    ErrorInfoEntry{0x00001131, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOLONG",
                   "The Extended Info Packet's time zone key name was longer than allowed."},
    ErrorInfoEntry{0x00001132, "ERRINFO_DYNAMICDSTDISABLEDFIELDMISSING",
                   "The Extended Info Packet lacked the dynamic daylight saving time field."},
    ErrorInfoEntry{0x00001133, "ERRINFO_VCDECODINGERROR",
                   "The server failed to process dynamic virtual channel data."},
    ErrorInfoEntry{0x00001134, "ERRINFO_VIRTUALDESKTOPTOOLARGE",
                   "The virtual desktop the Client Monitor Data describes is too large."},
    ErrorInfoEntry{0x00001135, "ERRINFO_MONITORGEOMETRYVALIDATIONFAILED",
                   "The monitor layout in the Client Monitor Data failed validation."},
    ErrorInfoEntry{0x00001136, "ERRINFO_INVALIDMONITORCOUNT",
                   "The Client Monitor Data announced too many monitors."},
    ErrorInfoEntry{0x00001191, "ERRINFO_UPDATESESSIONKEYFAILED",
                   "Updating the Standard RDP Security session keys failed."},
    ErrorInfoEntry{0x00001192, "ERRINFO_DECRYPTFAILED",
                   "Decryption, or session key creation, under Standard RDP Security failed."},
    ErrorInfoEntry{0x00001193, "ERRINFO_ENCRYPTFAILED",
                   "Encryption under Standard RDP Security failed."},
    ErrorInfoEntry{
        0x00001194, "ERRINFO_ENCPKGMISMATCH",
        "None of the encryption methods in the client's security data is usable by the server."},
    ErrorInfoEntry{0x00001195, "ERRINFO_DECRYPTFAILED2",
                   "Unencrypted data arrived where Standard RDP Security requires it encrypted."},
};

constexpr bool strictly_sorted() {
    for (std::size_t i = 1; i < kTable.size(); ++i)
        if (kTable[i - 1].code >= kTable[i].code) return false;
    return true;
}
static_assert(strictly_sorted(), "kTable must be sorted by code, each code once");

const ErrorInfoEntry* find(uint32_t code) {
    const auto it =
        std::lower_bound(kTable.begin(), kTable.end(), code,
                         [](const ErrorInfoEntry& e, uint32_t c) { return e.code < c; });
    if (it == kTable.end() || it->code != code) return nullptr;
    return &*it;
}

std::string hex8(uint32_t code) {
    char buf[11];
    std::snprintf(buf, sizeof buf, "0x%08X", code);
    return buf;
}

}  // namespace

std::span<const ErrorInfoEntry> error_info_table() {
    return kTable;
}

std::optional<std::string_view> error_info_name(uint32_t code) {
    if (const auto* e = find(code)) return e->name;
    return std::nullopt;
}

std::optional<std::string_view> error_info_description(uint32_t code) {
    if (const auto* e = find(code)) return e->description;
    return std::nullopt;
}

std::string error_info_to_string(uint32_t code) {
    if (const auto* e = find(code)) return std::string(e->name) + " (" + hex8(code) + ")";
    return "unknown ERRINFO " + hex8(code);
}

}  // namespace rdpbridge::rdp
