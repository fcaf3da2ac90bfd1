#include "proxy/reload_command.hpp"

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "config/load.hpp"
#include "proxy/preflight.hpp"

namespace rdpbridge::proxy {

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 3;

// The first config_reloaded / config_reload_failed event written after `offset`.
std::optional<nlohmann::json> reload_event(const std::filesystem::path& log,
                                           std::uintmax_t offset) {
    std::ifstream in(log, std::ios::binary);
    if (!in) return std::nullopt;
    in.seekg(std::streamoff(offset));
    for (std::string line; std::getline(in, line);) {
        auto e = nlohmann::json::parse(line, nullptr, false);
        if (e.is_discarded() || !e.is_object()) continue;
        const auto name = e.value("event", "");
        if (name == "config_reloaded" || name == "config_reload_failed") return e;
    }
    return std::nullopt;
}

}  // namespace

int run_reload(const std::string& config_file) {
    auto loaded = config::load_file(config_file);
    std::vector<config::LoadError> errors;
    if (auto* e = std::get_if<std::vector<config::LoadError>>(&loaded)) errors = *e;
    if (errors.empty()) errors = preflight(std::get<config::Config>(loaded), "").errors;
    if (!errors.empty()) {
        for (const auto& e : errors) std::cerr << "error: " << e.to_string() << "\n";
        std::cerr << errors.size() << " error(s); the gateway was not asked to reload.\n";
        return kExitConfig;
    }
    const auto& cfg = std::get<config::Config>(loaded);
    const auto pid_file = cfg.state_dir / "rdpbridge.pid";
    std::ifstream in(pid_file);
    long long pid = 0;
    if (!(in >> pid) || pid <= 1) {
        std::cerr << "rdpbridge reload: no running gateway found: " << pid_file.string()
                  << " is missing or unreadable (is one running with this config? under "
                     "systemd: systemctl reload rdpbridge)\n";
        return kExitRuntime;
    }
    std::uintmax_t offset = 0;
    std::error_code ec;
    if (cfg.logging.handshake_log) {
        offset = std::filesystem::file_size(*cfg.logging.handshake_log, ec);
        if (ec) offset = 0;
    }
    if (::kill(pid_t(pid), SIGHUP) != 0) {
        std::cerr << "rdpbridge reload: cannot signal process " << pid << " (from "
                  << pid_file.string() << "): " << std::strerror(errno)
                  << " (a stale PID file, or run this as the service's user or root)\n";
        return kExitRuntime;
    }
    if (!cfg.logging.handshake_log) {
        std::cout << "sent SIGHUP to process " << pid
                  << "; it logs the outcome on its stderr (the journal under systemd)\n";
        return 0;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto e = reload_event(*cfg.logging.handshake_log, offset)) {
            if ((*e)["event"] == "config_reloaded") {
                std::cout << "reloaded: generation " << e->value("generation", 0) << "; changes "
                          << (*e)["changes"].dump() << "; " << e->value("live_sessions", 0)
                          << " live session(s) keep the configuration they started with\n";
                return 0;
            }
            for (const auto& err : (*e)["errors"])
                std::cerr << "error: " << err.get<std::string>() << "\n";
            std::cerr << "the gateway refused the new configuration; the running one stays\n";
            return kExitConfig;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::cerr << "rdpbridge reload: process " << pid << " did not log a reload within 15 s ("
              << cfg.logging.handshake_log->string() << ")\n";
    return kExitRuntime;
}

}  // namespace rdpbridge::proxy
