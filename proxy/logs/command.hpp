// `rdpbridge logs`: the subcommand's options, help and exit codes. main.cpp only registers it.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace rdpbridge::logs {

struct Options {
    std::vector<std::string> files;
    std::string since;    // TIME (parse_time_arg), validated while parsing
    std::string until;    // TIME, likewise
    std::string backend;  // empty: every backend
    bool json = false;
    bool follow = false;
    std::string html;  // --html OUT.html: write the review page there instead of printing
};

CLI::App* add_command(CLI::App& app, Options& options);
int run(const Options& options);

}  // namespace rdpbridge::logs
