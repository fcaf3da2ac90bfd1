// Runs the two sides of the synthetic peers on their own threads and turns the scenarios'
// blocking calls into work posted to them.
#include "bench/fleet.hpp"

#include <future>
#include <thread>

#include "bench/peers.hpp"

namespace rdpbridge::bench {

namespace peers {

void SharedTally::fail(const std::string& what) {
    failed.fetch_add(1, std::memory_order_relaxed);
    constexpr std::size_t kKept = 8;
    std::lock_guard lock(mutex_);
    if (errors_.size() < kKept && std::find(errors_.begin(), errors_.end(), what) == errors_.end())
        errors_.push_back(what);
}

void SharedTally::note_negotiated(bool host_side, const std::string& version,
                                  const std::string& cipher) {
    std::lock_guard lock(mutex_);
    auto& v = host_side ? negotiated_.host_version : negotiated_.client_version;
    auto& c = host_side ? negotiated_.host_cipher : negotiated_.client_cipher;
    v = version;
    c = cipher;
}

std::vector<std::string> SharedTally::errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
}

Negotiated SharedTally::negotiated() const {
    std::lock_guard lock(mutex_);
    return negotiated_;
}

uint64_t Registry::add(tcp::socket* s) {
    std::lock_guard lock(mutex_);
    sockets_[++next_] = s;
    return next_;
}

void Registry::remove(uint64_t id) {
    std::lock_guard lock(mutex_);
    sockets_.erase(id);
    if (sockets_.empty()) empty_.notify_all();
}

void Registry::close_all() {
    std::vector<tcp::socket*> open;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, s] : sockets_) open.push_back(s);
    }
    // Closing completes pending operations later, on this thread, so no entry goes away here.
    for (auto* s : open) {
        error_code ignored;
        s->close(ignored);
    }
}

bool Registry::wait_empty(std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return empty_.wait_for(lock, limit, [&] { return sockets_.empty(); });
}

std::size_t Registry::size() const {
    std::lock_guard lock(mutex_);
    return sockets_.size();
}

std::string cipher_of(SslStream& s) {
    const char* name = SSL_get_cipher_name(s.native_handle());
    return name ? name : "?";
}

std::string version_of(SslStream& s) {
    return SSL_get_version(s.native_handle());
}

}  // namespace peers

namespace {

// One open() or churn() call: workers take session numbers until none is left.
struct Batch {
    std::size_t next = 0;
    std::size_t count = 0;
    std::size_t established = 0;
    std::size_t failed = 0;
    std::size_t workers = 0;
    bool churn = false;
    peers::Clock::time_point until = peers::Clock::time_point::max();
    std::promise<void> done;
};

// Clients come from many loopback addresses (127.1.x.y), as real users do from many hosts: a
// gateway that limits sessions or connection rates per source address would otherwise count
// every synthetic client against one. Open batches put 10 sessions on each address; churn
// batches cycle through 250 addresses.
asio::ip::address_v4 source_address(std::size_t session, bool churn) {
    constexpr std::size_t kSessionsPerSource = 10;
    constexpr std::size_t kChurnSources = 250;
    const std::size_t a = churn ? session % kChurnSources : session / kSessionsPerSource;
    return asio::ip::address_v4((127u << 24) | (1u << 16) | uint32_t(a / 250) << 8 |
                                uint32_t(1 + a % 250));
}

awaitable<void> batch_worker(peers::ClientSide& side, std::shared_ptr<Batch> batch,
                             tcp::endpoint target, bool direct, ClientProfile profile) {
    while (batch->next < batch->count && peers::Clock::now() < batch->until &&
           !side.tally.stopping) {
        const auto source = source_address(batch->next++, batch->churn);
        try {
            auto conn = co_await peers::client_connect(side, source, target, direct, profile.x224,
                                                       profile.mode == ClientMode::relay);
            ++batch->established;
            if (batch->churn) {
                conn->close();
            } else {
                asio::co_spawn(side.io, peers::client_life(side, conn, profile), asio::detached);
            }
        } catch (const std::exception& e) {
            ++batch->failed;
            side.tally.fail(e.what());
        }
    }
    if (--batch->workers == 0) batch->done.set_value();
}

}  // namespace

struct Fleet::Impl {
    explicit Impl(const HostTlsPolicy& policy)
        : client(tally, make_modern_client_context(), make_direct_client_context(policy)),
          host(tally, make_host_context(policy)) {
        asio::co_spawn(host.io, peers::host_accept_loop(host), asio::detached);
        client_thread = std::thread([this] { client.io.run(); });
        host_thread = std::thread([this] { host.io.run(); });
    }
    ~Impl() {
        client_work.reset();
        host_work.reset();
        client.io.stop();
        host.io.stop();
        client_thread.join();
        host_thread.join();
    }

    // Runs `fn` on `io`'s thread and waits for its result.
    template <class Fn>
    auto on(asio::io_context& io, Fn fn) {
        std::packaged_task<decltype(fn())()> task(std::move(fn));
        auto result = task.get_future();
        asio::post(io, [&task] { task(); });
        return result.get();
    }

    OpenResult run_batch(std::shared_ptr<Batch> batch, std::size_t concurrency, uint16_t port,
                         bool direct, const ClientProfile& profile) {
        const auto started = peers::Clock::now();
        const tcp::endpoint target(asio::ip::make_address("127.0.0.1"), port);
        batch->workers = std::max<std::size_t>(1, std::min(concurrency, batch->count));
        auto finished = batch->done.get_future();
        asio::post(client.io, [=, this] {
            for (std::size_t i = 0; i < batch->workers; ++i)
                asio::co_spawn(client.io, batch_worker(client, batch, target, direct, profile),
                               asio::detached);
        });
        finished.wait();
        return {batch->established, batch->failed,
                std::chrono::duration<double>(peers::Clock::now() - started).count()};
    }

    peers::SharedTally tally;
    HostProfile host_profile;  // the caller's copy of what the host thread has
    peers::ClientSide client;
    peers::HostSide host;
    asio::executor_work_guard<asio::io_context::executor_type> client_work =
        asio::make_work_guard(client.io);
    asio::executor_work_guard<asio::io_context::executor_type> host_work =
        asio::make_work_guard(host.io);
    std::thread client_thread;
    std::thread host_thread;
};

Fleet::Fleet(const HostTlsPolicy& host_policy) : impl_(std::make_unique<Impl>(host_policy)) {}

Fleet::~Fleet() {
    close_all();
}

uint16_t Fleet::host_port() const {
    return impl_->host.acceptor.local_endpoint().port();
}

void Fleet::set_host_profile(const HostProfile& profile) {
    if (!profile.x224 && profile.rdp_method)
        throw std::invalid_argument(
            "a bare-TLS host cannot use Standard RDP Security: it is negotiated in X.224");
    impl_->on(impl_->host.io, [&] { impl_->host.profile = profile; });
    impl_->host_profile = profile;
}

OpenResult Fleet::open(uint16_t port, std::size_t count, std::size_t concurrency,
                       const ClientProfile& profile, bool direct_to_host) {
    if (profile.mode == ClientMode::relay && !impl_->host_profile.client_joins)
        throw std::invalid_argument(
            "relay clients join their channels: the host profile must answer (client_joins)");
    auto batch = std::make_shared<Batch>();
    batch->count = count;
    return impl_->run_batch(batch, concurrency, port, direct_to_host, profile);
}

OpenResult Fleet::churn(uint16_t port, std::size_t concurrency, std::size_t max_sessions,
                        std::chrono::duration<double> duration, bool x224) {
    auto batch = std::make_shared<Batch>();
    batch->count = max_sessions;
    batch->churn = true;
    batch->until =
        peers::Clock::now() + std::chrono::duration_cast<peers::Clock::duration>(duration);
    ClientProfile profile;
    profile.x224 = x224;
    return impl_->run_batch(batch, concurrency, port, false, profile);
}

Tally Fleet::tally() const {
    const auto& t = impl_->tally;
    constexpr auto r = std::memory_order_relaxed;
    return {t.client_established.load(r),
            t.host_established.load(r),
            t.failed.load(r),
            t.bytes_down.load(r),
            t.bytes_up.load(r),
            t.pdus_down.load(r),
            t.pdus_up.load(r),
            t.host_tls_handshakes.load(r),
            t.host_resumed.load(r),
            t.host_static_channels.load(r),
            t.host_channel_joins.load(r),
            t.gateway_channel_joins.load(r)};
}

Negotiated Fleet::negotiated() const {
    return impl_->tally.negotiated();
}

std::vector<std::string> Fleet::errors() const {
    return impl_->tally.errors();
}

void Fleet::start_recording() {
    impl_->on(impl_->client.io, [&] {
        impl_->client.latencies.clear();
        impl_->tally.recording = true;
    });
}

std::vector<int64_t> Fleet::stop_recording() {
    return impl_->on(impl_->client.io, [&] {
        impl_->tally.recording = false;
        return std::move(impl_->client.latencies);
    });
}

void Fleet::close_all() {
    constexpr std::chrono::seconds kLimit{30};
    impl_->tally.stopping = true;
    impl_->on(impl_->client.io, [&] { impl_->client.registry.close_all(); });
    impl_->on(impl_->host.io, [&] { impl_->host.registry.close_all(); });
    impl_->client.registry.wait_empty(kLimit);
    impl_->host.registry.wait_empty(kLimit);
    impl_->tally.stopping = false;
}

}  // namespace rdpbridge::bench
