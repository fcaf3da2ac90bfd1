// Everything `rdpbridge run` would refuse, short of binding: certificates that do not load or
// match their keys, cipher strings OpenSSL rejects, CA files, listeners on the same address,
// and the files the service reads (users, keytabs, passwords, the log's directory) — present,
// private where they hold secrets, and readable by the account that will run the service.
// check-config prints these errors; run refuses to start on them, with the same words.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/load.hpp"

namespace rdpbridge::proxy {

struct PreflightReport {
    std::vector<config::LoadError> errors;
    std::vector<std::string> checked;  // what was verified, one phrase each, for check-config
    std::string user;                  // whose access to files was checked
};

// `as_user`: the account to check file access for; empty = the current one. An unknown account
// is an error (named in the report).
PreflightReport preflight(const config::Config& config, const std::string& as_user);

}  // namespace rdpbridge::proxy
