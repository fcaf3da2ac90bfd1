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
};

CLI::App* add_command(CLI::App& app, Options& options);
int run(const Options& options);

}  // namespace rdpbridge::probe
