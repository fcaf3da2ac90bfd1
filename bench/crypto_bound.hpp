// The bound for relaying: the record cryptography a TLS-terminating gateway cannot avoid, run
// in-process with OpenSSL EVP on one core. A byte from one leg to the other is opened with that
// leg's record protection (decrypt + verify) and sealed with the other leg's (MAC/tag +
// encrypt), in records of the sizes the gateway really sees. Everything else the gateway does
// per byte (syscalls, copies, scheduling) is overhead measured against this.
#pragma once

#include <cstddef>
#include <string>

namespace rdpbridge::bench {

// A negotiated suite as OpenSSL names it: ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
// ("TLSv1", "AES128-SHA").
// Standard RDP Security legs are named ("RDP", "RC4-128") and ("RDP", "FIPS").
struct Suite {
    std::string version;
    std::string cipher;
};
inline constexpr const char* kRdpSecurity = "RDP";
inline constexpr const char* kRdpRc4_128 = "RC4-128";
inline constexpr const char* kRdpFips = "FIPS";

struct RelayBound {
    double bytes_per_cpu_second = 0;  // plaintext
    std::string open_with;            // EVP algorithms used, for the report
    std::string seal_with;
};

// Opens records of `pdu` plaintext bytes (split at 16,384 like TLS) protected with `from` and
// seals them with `to`, for `seconds` of this thread's CPU time. A Standard RDP Security leg
// protects whole PDUs, not records: the same for PDUs up to 16,384 bytes, as the bench's are
// by default.
RelayBound relay_bound(const Suite& from, const Suite& to, std::size_t pdu, double seconds);

}  // namespace rdpbridge::bench
