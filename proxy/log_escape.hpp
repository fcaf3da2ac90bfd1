// Text a peer chose (an mstshash cookie, a host's error text, a user name) made safe to print on
// one human-readable log line. A raw ESC would let a client drive the operator's terminal, a raw
// CR/LF would let it forge a whole journal line; once escaped, every byte the peer sent is still
// visible and none of them acts.
#pragma once

#include <string>
#include <string_view>

namespace rdpbridge::proxy {

// Printable ASCII and printable UTF-8 pass unchanged; '\n', '\r', '\t' and '\\' become two-char
// escapes; other C0 controls, DEL and every byte that is not part of valid UTF-8 become \xNN;
// valid UTF-8 characters that steer a terminal or the reading order (C1 controls, line and
// paragraph separators, bidirectional overrides and isolates, BOM) become \uNNNN.
std::string escape_for_log(std::string_view text);

// The same inside double quotes, with '"' escaped too: for strings nested in a rendered object.
std::string quote_for_log(std::string_view text);

}  // namespace rdpbridge::proxy
