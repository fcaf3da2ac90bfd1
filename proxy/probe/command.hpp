// `rdpbridge probe`: the subcommand's options, help and exit codes. main.cpp only registers it.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace rdpbridge::probe {

struct Options {
    std::string target;  // HOST[:PORT]
    double timeout_seconds = 5.0;
    bool json = false;
    std::string sni;
    std::string trust;        // --trust NAME: record what was seen as backend NAME's identity
    std::string config_file;  // -c: the store is in its state_dir
    std::string state_dir;    // --state-dir, instead of -c
};

CLI::App* add_command(CLI::App& app, Options& options);
int run(const Options& options);

}  // namespace rdpbridge::probe
