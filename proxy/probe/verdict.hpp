// The judgement over the findings: which era of host this looks like, what a modern hardened
// client (Windows 11 mstsc, FreeRDP /tls-seclevel:3) will trip over and why, the risks of
// exposing it, and the backend profile for rdpbridge. Pure: findings in, words and config out.
#pragma once

#include "proxy/probe/findings.hpp"

namespace rdpbridge::probe {

std::string era(const Findings& f);
std::vector<Problem> problems(const Findings& f);
std::vector<std::string> risks(const Findings& f);

// The [[backend]] that reaches this host through rdpbridge, with the reasons for each choice.
// `security_level` is the first guess; the probe confirms it with a real handshake and falls
// back to 0 if the host needs that (see with_security_level).
Recommendation recommend(const Findings& f);
Recommendation with_security_level(Recommendation r, int level);

// era + problems + risks + recommendation + the TOML block.
Verdict judge(const Findings& f);

// The backend name used in the TOML block: the host with anything but [A-Za-z0-9_.-] replaced.
std::string backend_name(const Target& t);

// Versions the host accepted, oldest first ("1.0", "1.2", ...).
std::vector<std::string> accepted_versions(const TlsFindings& tls);

}  // namespace rdpbridge::probe
