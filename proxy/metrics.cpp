#include "proxy/metrics.hpp"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace rdpbridge::proxy {

namespace {

// Label values escaped as the exposition format wants: backslash, double quote, newline.
std::string escape_label(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::string labels_text(const std::vector<std::pair<std::string, std::string>>& labels) {
    if (labels.empty()) return "";
    std::string out = "{";
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i) out += ",";
        out += labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
    }
    return out + "}";
}

std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    std::ostringstream s;
    s.precision(15);
    s << v;
    return s.str();
}

class Exposition {
  public:
    void family(const std::string& name, const std::string& type, const std::string& help) {
        out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    }
    void sample(const std::string& name,
                const std::vector<std::pair<std::string, std::string>>& labels, double v) {
        out_ << name << labels_text(labels) << " " << number(v) << "\n";
    }
    std::string str() const { return out_.str(); }

  private:
    std::ostringstream out_;
};

std::string text(const Json& e, const char* key, const std::string& otherwise = "none") {
    const auto it = e.find(key);
    return it != e.end() && it->is_string() ? it->get<std::string>() : otherwise;
}

uint64_t count(const Json& e, const char* key) {
    const auto it = e.find(key);
    return it != e.end() && it->is_number_unsigned() ? it->get<uint64_t>()
           : it != e.end() && it->is_number_integer() && it->get<int64_t>() > 0
               ? uint64_t(it->get<int64_t>())
               : 0;
}

// "2027-01-31T12:00:00Z" (tls/inspect's form) as Unix seconds; NaN if it does not parse.
double unix_seconds(const std::string& iso) {
    std::tm tm{};
    std::istringstream in(iso);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
    if (in.fail()) return std::nan("");
    return double(timegm(&tm));
}

// /proc/self: what Prometheus' client libraries export as process_* metrics.
struct ProcessStats {
    double cpu_seconds = 0;
    double resident_bytes = 0;
    double open_fds = 0;
    double max_fds = 0;
    double start_time = 0;
};

ProcessStats process_stats() {
    ProcessStats p;
    const double ticks = double(::sysconf(_SC_CLK_TCK));
    std::ifstream stat("/proc/self/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command (which may hold spaces), from field 3 on: utime is 14, stime 15,
    // starttime 22, rss 24.
    if (const auto close = all.rfind(')'); close != std::string::npos) {
        std::istringstream fields(all.substr(close + 2));
        std::vector<std::string> f;
        for (std::string x; fields >> x;) f.push_back(x);
        if (f.size() > 21) {
            p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
            p.resident_bytes = std::stod(f[21]) * double(::sysconf(_SC_PAGESIZE));
            std::ifstream uptime("/proc/uptime");
            double up = 0;
            uptime >> up;
            p.start_time = double(std::time(nullptr)) - up + std::stod(f[19]) / ticks;
        }
    }
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        p.open_fds += 1;
    std::ifstream limits("/proc/self/limits");
    for (std::string line; std::getline(limits, line);) {
        if (line.rfind("Max open files", 0) == 0) {
            std::istringstream l(line.substr(14));
            l >> p.max_fds;
        }
    }
    return p;
}

}  // namespace

const std::vector<double>& handshake_buckets() {
    static const std::vector<double> b{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    return b;
}

Metrics::Metrics(std::string version) : version_(std::move(version)) {}

void Metrics::on_event(const Json& e) {
    const std::lock_guard lock(mutex_);
    const std::string event = text(e, "event", "");
    if (event == "session_established") {
        const auto backend = text(e, "backend");
        ++active_[backend];
        ++sessions_total_[backend];
        auto& h = handshake_seconds_[backend];
        if (h.buckets.empty()) h.buckets.assign(handshake_buckets().size(), 0);
        const double seconds = e.value("handshake_ms", 0.0) / 1000.0;
        for (std::size_t i = 0; i < handshake_buckets().size(); ++i)
            if (seconds <= handshake_buckets()[i]) ++h.buckets[i];
        ++h.count;
        h.sum += seconds;
        if (const auto back = e.find("back"); back != e.end() && back->is_object()) {
            security_[backend] = {{"backend", backend},
                                  {"protocol", text(*back, "selected")},
                                  {"tls_version", text(*back, "tls_version")},
                                  {"rdp_encryption", text(*back, "encryption_method")}};
            if (const double t = unix_seconds(text(*back, "cert_not_after", "")); !std::isnan(t))
                cert_expiry_[backend] = t;
        }
    } else if (event == "session_closed") {
        const auto backend = text(e, "backend");
        --active_[backend];
        bytes_[{{"backend", backend}, {"direction", "client_to_host"}}] +=
            count(e, "bytes_client_to_host");
        bytes_[{{"backend", backend}, {"direction", "host_to_client"}}] +=
            count(e, "bytes_host_to_client");
        ++closed_[{{"backend", backend}, {"closed_by", text(e, "closed_by")}}];
        // Only sessions under a channel policy carry these.
        if (e.contains("devices_refused")) {
            channel_refused_[{{"backend", backend}, {"what", "device"}}] +=
                count(e, "devices_refused");
            channel_refused_[{{"backend", backend}, {"what", "pdu"}}] +=
                count(e, "channel_pdus_dropped");
        }
    } else if (event == "handshake_failed") {
        const auto stage = text(e, "stage");
        if (stage == "client_transport") {
            ++refusals_[text(e, "cause")];  // refused at accept, before any byte was read
        } else {
            ++failures_[{
                {"backend", text(e, "backend")}, {"stage", stage}, {"cause", text(e, "cause")}}];
        }
    } else if (event == "balancer_check") {
        ++balancer_checks_;
    } else if (event == "refusals_summary") {
        refusals_[text(e, "cause")] += count(e, "count");
    } else if (event == "log_events_dropped") {
        log_dropped_ += count(e, "count");
    } else if (event == "config_reloaded") {
        ++reloads_["success"];
        generation_ = count(e, "generation");
    } else if (event == "config_reload_failed") {
        ++reloads_["failure"];
    }
}

std::string Metrics::render() const {
    const std::lock_guard lock(mutex_);
    Exposition x;
    x.family("rdpbridge_build_info", "gauge", "The running rdpbridge's version (always 1).");
    x.sample("rdpbridge_build_info", {{"version", version_}}, 1);
    x.family("rdpbridge_sessions_active", "gauge", "Established sessions now, by backend.");
    for (const auto& [backend, n] : active_)
        x.sample("rdpbridge_sessions_active", {{"backend", backend}}, double(n));
    x.family("rdpbridge_handshakes_in_progress", "gauge",
             "Connections accepted and not yet established or failed.");
    x.sample("rdpbridge_handshakes_in_progress", {}, double(handshakes_in_progress_));
    x.family("rdpbridge_sessions_total", "counter", "Sessions established, by backend.");
    for (const auto& [backend, n] : sessions_total_)
        x.sample("rdpbridge_sessions_total", {{"backend", backend}}, double(n));
    x.family("rdpbridge_sessions_closed_total", "counter",
             "Established sessions that ended, by backend and who closed them.");
    for (const auto& [labels, n] : closed_)
        x.sample("rdpbridge_sessions_closed_total", labels, double(n));
    x.family("rdpbridge_handshake_failures_total", "counter",
             "Connections that never became a session, by backend, stage and cause "
             "(docs/diagnosis.md).");
    for (const auto& [labels, n] : failures_)
        x.sample("rdpbridge_handshake_failures_total", labels, double(n));
    x.family("rdpbridge_handshake_duration_seconds", "histogram",
             "From accept to the established session, by backend.");
    for (const auto& [backend, h] : handshake_seconds_) {
        for (std::size_t i = 0; i < handshake_buckets().size(); ++i)
            x.sample("rdpbridge_handshake_duration_seconds_bucket",
                     {{"backend", backend}, {"le", number(handshake_buckets()[i])}},
                     double(h.buckets[i]));
        x.sample("rdpbridge_handshake_duration_seconds_bucket",
                 {{"backend", backend}, {"le", "+Inf"}}, double(h.count));
        x.sample("rdpbridge_handshake_duration_seconds_sum", {{"backend", backend}}, h.sum);
        x.sample("rdpbridge_handshake_duration_seconds_count", {{"backend", backend}},
                 double(h.count));
    }
    x.family("rdpbridge_relayed_bytes_total", "counter",
             "Bytes relayed by sessions that ended, by backend and direction.");
    for (const auto& [labels, n] : bytes_)
        x.sample("rdpbridge_relayed_bytes_total", labels, double(n));
    x.family("rdpbridge_channel_refused_total", "counter",
             "What channel policies kept from the host, by backend, in sessions that ended: "
             "rdpdr devices (what=\"device\") and client PDUs dropped or withheld "
             "(what=\"pdu\").");
    for (const auto& [labels, n] : channel_refused_)
        x.sample("rdpbridge_channel_refused_total", labels, double(n));
    x.family("rdpbridge_backend_security_info", "gauge",
             "What the backend's last session negotiated (always 1): protocol (SSL, HYBRID, RDP), "
             "TLS version, Standard RDP Security encryption.");
    for (const auto& [backend, labels] : security_)
        x.sample("rdpbridge_backend_security_info", labels, 1);
    x.family("rdpbridge_backend_certificate_expiry_timestamp_seconds", "gauge",
             "When the certificate the backend last presented expires (Unix time).");
    for (const auto& [backend, t] : cert_expiry_)
        x.sample("rdpbridge_backend_certificate_expiry_timestamp_seconds", {{"backend", backend}},
                 t);
    x.family("rdpbridge_admission_refusals_total", "counter",
             "Connections refused at accept, before any byte was read, by reason.");
    for (const auto& [reason, n] : refusals_)
        x.sample("rdpbridge_admission_refusals_total", {{"reason", reason}}, double(n));
    x.family("rdpbridge_balancer_checks_total", "counter",
             "Load balancer health checks on RDP listeners (connected and closed without a "
             "client), which are not failed handshakes.");
    x.sample("rdpbridge_balancer_checks_total", {}, double(balancer_checks_));
    x.family("rdpbridge_log_events_dropped_total", "counter",
             "Handshake log events dropped because the log could not keep up.");
    x.sample("rdpbridge_log_events_dropped_total", {}, double(log_dropped_));
    x.family("rdpbridge_config_reloads_total", "counter", "Reloads (SIGHUP), by result.");
    for (const char* result : {"success", "failure"}) {
        const auto it = reloads_.find(result);
        x.sample("rdpbridge_config_reloads_total", {{"result", result}},
                 double(it == reloads_.end() ? 0 : it->second));
    }
    x.family("rdpbridge_config_generation", "gauge",
             "The configuration in effect (1 at start, +1 per reload).");
    x.sample("rdpbridge_config_generation", {}, double(generation_));
    x.family("rdpbridge_draining", "gauge", "1 while stopping: nothing new is accepted.");
    x.sample("rdpbridge_draining", {}, draining_ ? 1 : 0);
    x.family(
        "rdpbridge_worker_connections", "gauge",
        "Connections (sessions and handshakes) each worker loop runs now ([service] workers).");
    for (std::size_t i = 0; i < worker_load_.size(); ++i)
        x.sample("rdpbridge_worker_connections", {{"worker", std::to_string(i)}},
                 double(worker_load_[i]));

    const auto p = process_stats();
    x.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds.");
    x.sample("process_cpu_seconds_total", {}, p.cpu_seconds);
    x.family("process_resident_memory_bytes", "gauge", "Resident memory size, bytes.");
    x.sample("process_resident_memory_bytes", {}, p.resident_bytes);
    x.family("process_open_fds", "gauge", "Open file descriptors.");
    x.sample("process_open_fds", {}, p.open_fds);
    x.family("process_max_fds", "gauge", "The limit of open file descriptors.");
    x.sample("process_max_fds", {}, p.max_fds);
    x.family("process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.");
    x.sample("process_start_time_seconds", {}, p.start_time);
    return x.str();
}

}  // namespace rdpbridge::proxy
