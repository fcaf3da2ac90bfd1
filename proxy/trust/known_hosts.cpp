#include "proxy/trust/known_hosts.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace rdpbridge::proxy::trust {

namespace {

using Json = nlohmann::ordered_json;

std::string errno_text() {
    return std::strerror(errno);
}

bool is_sha256_hex(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Json layers_json(const rdp::SecurityLayers& l) {
    Json a = Json::array();
    if (l.tls) a.push_back("TLS");
    if (l.nla) a.push_back("NLA");
    if (l.rdp) a.push_back("RDP");
    return a;
}

void identity_to_json(const rdp::HostIdentity& id, Json& j) {
    if (!id.tls_cert_sha256.empty()) j["tls_cert_sha256"] = id.tls_cert_sha256;
    if (!id.tls_spki_sha256.empty()) j["tls_spki_sha256"] = id.tls_spki_sha256;
    if (!id.rdp_key_sha256.empty()) j["rdp_key_sha256"] = id.rdp_key_sha256;
    j["layers"] = layers_json(id.layers);
}

// Reads one line's fields; `fail` reports "what is wrong" for the caller to place.
class LineReader {
  public:
    explicit LineReader(const Json& j) : j_(j) {}

    std::string text(const char* key, bool required) {
        auto it = j_.find(key);
        if (it == j_.end()) {
            if (required) throw std::invalid_argument(std::string("missing \"") + key + "\"");
            return {};
        }
        if (!it->is_string())
            throw std::invalid_argument(std::string("\"") + key + "\" must be a string");
        return it->get<std::string>();
    }
    std::string fingerprint(const char* key) {
        auto s = text(key, false);
        if (!s.empty() && !is_sha256_hex(s))
            throw std::invalid_argument(std::string("\"") + key +
                                        "\" must be 64 lower-case hex digits (a SHA-256)");
        return s;
    }
    rdp::HostIdentity identity() {
        rdp::HostIdentity id;
        id.tls_cert_sha256 = fingerprint("tls_cert_sha256");
        id.tls_spki_sha256 = fingerprint("tls_spki_sha256");
        id.rdp_key_sha256 = fingerprint("rdp_key_sha256");
        auto it = j_.find("layers");
        if (it != j_.end()) {
            if (!it->is_array()) throw std::invalid_argument("\"layers\" must be an array");
            for (const auto& l : *it) {
                const std::string name = l.is_string() ? l.get<std::string>() : "";
                if (name == "TLS")
                    id.layers.tls = true;
                else if (name == "NLA")
                    id.layers.nla = true;
                else if (name == "RDP")
                    id.layers.rdp = true;
                else
                    throw std::invalid_argument("\"layers\" holds only \"TLS\", \"NLA\", \"RDP\"");
            }
        }
        return id;
    }

  private:
    const Json& j_;
};

// The lock lives beside the store, not on it: the store itself is replaced by rename.
class FileLock {
  public:
    explicit FileLock(const std::filesystem::path& path) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd_ < 0)
            throw StoreError("cannot open lock file " + path.string() + ": " + errno_text());
        while (::flock(fd_, LOCK_EX) != 0) {
            if (errno != EINTR) {
                const std::string why = errno_text();
                ::close(fd_);
                throw StoreError("cannot lock " + path.string() + ": " + why);
            }
        }
    }
    ~FileLock() { ::close(fd_); }  // closing releases the flock
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

  private:
    int fd_ = -1;
};

void write_all(int fd, const std::string& data, const std::filesystem::path& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw StoreError("cannot write " + path.string() + ": " + errno_text());
        done += std::size_t(n);
    }
}

}  // namespace

std::string now_rfc3339() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::vector<KnownHost> parse(std::string_view text, const std::string& file) {
    std::vector<KnownHost> out;
    std::istringstream in{std::string(text)};
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            const Json j = Json::parse(line);
            if (!j.is_object()) throw std::invalid_argument("each line must be a JSON object");
            LineReader r(j);
            KnownHost h;
            h.backend = r.text("backend", true);
            h.address = r.text("address", true);
            h.identity = r.identity();
            h.first_seen = r.text("first_seen", false);
            h.last_seen = r.text("last_seen", false);
            if (auto p = j.find("pending"); p != j.end()) {
                if (!p->is_object()) throw std::invalid_argument("\"pending\" must be an object");
                LineReader pr(*p);
                h.pending =
                    PendingIdentity{pr.identity(), pr.text("seen", false), pr.text("cause", false)};
            }
            if (find(out, h.backend) != nullptr)
                throw std::invalid_argument("backend \"" + h.backend + "\" appears twice");
            out.push_back(std::move(h));
        } catch (const Json::exception& e) {
            throw StoreError(file + ":" + std::to_string(number) + ": not valid JSON (" + e.what() +
                             "); fix or delete the line (`rdpbridge hosts forget`)");
        } catch (const std::invalid_argument& e) {
            throw StoreError(file + ":" + std::to_string(number) + ": " + e.what() +
                             "; fix or delete the line (`rdpbridge hosts forget`)");
        }
    }
    return out;
}

std::string serialize(const std::vector<KnownHost>& hosts) {
    std::string out;
    for (const auto& h : hosts) {
        Json j{{"backend", h.backend}, {"address", h.address}};
        identity_to_json(h.identity, j);
        if (!h.first_seen.empty()) j["first_seen"] = h.first_seen;
        if (!h.last_seen.empty()) j["last_seen"] = h.last_seen;
        if (h.pending) {
            Json p = Json::object();
            identity_to_json(h.pending->identity, p);
            p["seen"] = h.pending->seen;
            p["cause"] = h.pending->cause;
            j["pending"] = std::move(p);
        }
        out += j.dump() + "\n";
    }
    return out;
}

KnownHost* find(std::vector<KnownHost>& hosts, std::string_view backend) {
    for (auto& h : hosts)
        if (h.backend == backend) return &h;
    return nullptr;
}

const KnownHost* find(const std::vector<KnownHost>& hosts, std::string_view backend) {
    for (const auto& h : hosts)
        if (h.backend == backend) return &h;
    return nullptr;
}

Store::Store(std::filesystem::path file) : file_(std::move(file)) {}

std::vector<KnownHost> Store::read() const {
    std::ifstream in(file_, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(file_)) return {};
        throw StoreError("cannot read " + file_.string() + ": " + errno_text() +
                         "; the service's user must be able to read it (mode 0600, owned by "
                         "that user)");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), file_.string());
}

void Store::update(const std::function<void(std::vector<KnownHost>&)>& edit) {
    const auto dir = file_.parent_path().empty() ? std::filesystem::path(".") : file_.parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw StoreError("cannot create " + dir.string() + ": " + ec.message());
    FileLock lock(std::filesystem::path(file_.string() + ".lock"));
    auto hosts = read();
    edit(hosts);
    const std::string text = serialize(hosts);

    // A fixed temporary name is safe under the lock; a stale one from a crash is removed first,
    // so its mode never carries over, and O_EXCL|O_NOFOLLOW refuse anything planted meanwhile.
    const std::filesystem::path temp = file_.string() + ".tmp";
    if (::unlink(temp.c_str()) != 0 && errno != ENOENT)
        throw StoreError("cannot remove stale " + temp.string() + ": " + errno_text());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw StoreError("cannot create " + temp.string() + ": " + errno_text());
    try {
        write_all(fd, text, temp);
        if (::fsync(fd) != 0)
            throw StoreError("cannot sync " + temp.string() + ": " + errno_text());
    } catch (...) {
        ::close(fd);
        ::unlink(temp.c_str());
        throw;
    }
    ::close(fd);
    if (before_rename) before_rename();
    if (::rename(temp.c_str(), file_.c_str()) != 0) {
        const std::string why = errno_text();
        ::unlink(temp.c_str());
        throw StoreError("cannot replace " + file_.string() + ": " + why);
    }
    // The rename itself must survive a power cut.
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace rdpbridge::proxy::trust
