// CredSSP (NLA) on one leg of a session: rdp/'s credssp::Server towards the client or
// credssp::Client towards the host, driven over the leg's TlsStream, with a GSSAPI context from
// proxy/nla as the security package. The state machines decide; this moves their bytes. Every
// call that reaches GSSAPI runs on `blocking`, never on the session's loop.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <variant>

#include "proxy/asio.hpp"
#include "proxy/blocking_pool.hpp"
#include "proxy/tls_stream.hpp"
#include "rdp/credssp_client.hpp"
#include "rdp/credssp_server.hpp"

namespace rdpbridge::proxy {

// Authenticates the client against `users_file` and takes the password it delegates. A failure
// has already been told to the client (errorCode, or `denied` under HYBRID_EX).
awaitable<std::variant<rdp::credssp::Authenticated, rdp::Failure>> run_front_nla(
    TlsStream& front, const std::filesystem::path& users_file,
    const std::optional<std::filesystem::path>& keytab, bool hybrid_ex, BlockingPool& blocking);

// Logs on to the host with `credentials` (raw NTLM, as FreeRDP 2 does towards Windows). Returns
// the CredSSP version, or why the host refused.
awaitable<std::variant<uint32_t, rdp::Failure>> run_back_nla(
    TlsStream& back, const std::string& host, rdp::credssp::PasswordCredentials credentials,
    bool hybrid_ex, BlockingPool& blocking);

}  // namespace rdpbridge::proxy
