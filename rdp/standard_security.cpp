#include "rdp/standard_security.hpp"

#include <algorithm>
#include <bit>

#include "rdp/server_security.hpp"

namespace rdpbridge::rdp {

namespace {

constexpr uint32_t kKeyUpdateInterval = 4096;
constexpr std::array<uint8_t, 8> kFipsIv{0x12, 0x34, 0x56, 0x78, 0x90, 0xAB, 0xCD, 0xEF};

const std::array<uint8_t, 40>& pad1() {
    static const auto p = [] {
        std::array<uint8_t, 40> a;
        a.fill(0x36);
        return a;
    }();
    return p;
}

const std::array<uint8_t, 48>& pad2() {
    static const auto p = [] {
        std::array<uint8_t, 48> a;
        a.fill(0x5C);
        return a;
    }();
    return p;
}

ByteView view(const auto& a) {
    return ByteView(a.data(), a.size());
}

// SaltedHash(S, I) = MD5(S + SHA1(I + S + ClientRandom + ServerRandom))
crypto::Md5 salted_hash(ByteView s, ByteView i, ByteView cr, ByteView sr) {
    const auto sha = crypto::sha1({i, s, cr, sr});
    return crypto::md5({s, view(sha)});
}

// Three salted hashes over 'A','BB','CCC' (or 'X','YY','ZZZ') concatenated.
Bytes triple_hash(ByteView secret, char first, ByteView cr, ByteView sr) {
    Bytes out;
    for (int n = 1; n <= 3; ++n) {
        const Bytes label(std::size_t(n), uint8_t(first + n - 1));
        const auto h = salted_hash(secret, label, cr, sr);
        out.insert(out.end(), h.begin(), h.end());
    }
    return out;
}

// 40-bit keys become D1 26 9E + bytes 3..7; 56-bit keys D1 + bytes 1..7.
Bytes reduce(const Bytes& key128, uint32_t method) {
    Bytes k(key128.begin(), key128.begin() + 8);
    if (method == encryption_method::bits40) {
        k[0] = 0xD1;
        k[1] = 0x26;
        k[2] = 0x9E;
    } else if (method == encryption_method::bits56) {
        k[0] = 0xD1;
    } else {
        return key128;
    }
    return k;
}

uint8_t reverse_bits(uint8_t b) {
    b = uint8_t((b & 0xF0) >> 4 | (b & 0x0F) << 4);
    b = uint8_t((b & 0xCC) >> 2 | (b & 0x33) << 2);
    return uint8_t((b & 0xAA) >> 1 | (b & 0x55) << 1);
}

// 5.3.5.2: the 168-bit key (20 bytes plus its first byte again) spread over 24 bytes, seven
// bits each. The bit order is the one Windows uses: each byte is bit-reversed before and after
// the split, then given odd parity in its low bit. Interoperability depends on this detail.
Bytes expand_des_key(const crypto::Sha1& t) {
    std::array<uint8_t, 22> in{};
    for (std::size_t i = 0; i < 20; ++i) in[i] = reverse_bits(t[i]);
    in[20] = reverse_bits(t[0]);
    Bytes out(24);
    for (std::size_t i = 0; i < 24; ++i) {
        const std::size_t bit = 7 * i;
        const unsigned pair = unsigned(in[bit / 8]) << 8 | in[bit / 8 + 1];
        uint8_t v = reverse_bits(uint8_t(((pair << (bit % 8)) >> 8) & 0xFE));
        v &= 0xFE;
        if (std::popcount(unsigned(v)) % 2 == 0) v |= 1;
        out[i] = v;
    }
    return out;
}

std::array<uint8_t, 8> first8(ByteView b) {
    std::array<uint8_t, 8> out{};
    std::copy(b.begin(), b.begin() + 8, out.begin());
    return out;
}

std::array<uint8_t, 4> le32(uint32_t v) {
    std::array<uint8_t, 4> b;
    store_u32le(b.data(), v);
    return b;
}

// [MS-RDPBCGR] 5.3.6.1: MD5(MACKey + Pad2 + SHA1(MACKey + Pad1 + len + data [+ count])).
std::array<uint8_t, 8> rc4_mac(ByteView mac_key, ByteView data, bool salted, uint32_t count) {
    const auto len = le32(uint32_t(data.size()));
    const auto c = le32(count);
    const auto sha = salted ? crypto::sha1({mac_key, view(pad1()), view(len), data, view(c)})
                            : crypto::sha1({mac_key, view(pad1()), view(len), data});
    const auto md = crypto::md5({mac_key, view(pad2()), view(sha)});
    return first8(view(md));
}

// [MS-RDPBCGR] 5.3.7.1: a new RC4 key from the initial and current ones.
Bytes update_key(const Bytes& initial, const Bytes& current, uint32_t method) {
    const auto sha = crypto::sha1({initial, view(pad1()), current});
    const auto md = crypto::md5({initial, view(pad2()), view(sha)});
    Bytes temp(md.begin(), md.begin() + long(initial.size()));
    crypto::Rc4 rc4;
    rc4.reset(temp);
    rc4.apply(temp.data(), temp.size());
    Bytes full(16, 0);
    std::copy(temp.begin(), temp.end(), full.begin());
    Bytes next = initial.size() == 16 ? temp : reduce(full, method);
    crypto::cleanse(temp.data(), temp.size());
    return next;
}

struct Rc4Direction {
    Bytes initial;
    Bytes current;
    crypto::Rc4 rc4;
    uint32_t since_update = 0;

    void start(const Bytes& key) {
        initial = current = key;
        rc4.reset(current);
    }
    void apply(uint32_t method, uint8_t* data, std::size_t size) {
        if (since_update == kKeyUpdateInterval) {
            current = update_key(initial, current, method);
            rc4.reset(current);
            since_update = 0;
        }
        rc4.apply(data, size);
        ++since_update;
    }
    ~Rc4Direction() {
        crypto::cleanse(initial.data(), initial.size());
        crypto::cleanse(current.data(), current.size());
    }
};

}  // namespace

SessionKeys::~SessionKeys() {
    for (Bytes* k : {&mac_key, &encrypt_key, &decrypt_key, &hmac_key})
        crypto::cleanse(k->data(), k->size());
}

Result<SessionKeys> derive_session_keys(uint32_t method, ByteView cr, ByteView sr) {
    constexpr std::size_t kRandomSize = 32;
    if (method != encryption_method::bits40 && method != encryption_method::bits56 &&
        method != encryption_method::bits128 && method != encryption_method::fips)
        return Error{"session_keys.method",
                     encryption_methods_to_string(method) + " is not exactly one method"};
    if (cr.size() != kRandomSize)
        return Error{"session_keys.client_random",
                     std::to_string(cr.size()) + " bytes, must be 32"};
    if (sr.size() != kRandomSize)
        return Error{"session_keys.server_random",
                     std::to_string(sr.size()) + " bytes, must be 32"};
    SessionKeys keys;
    keys.method = method;
    if (method == encryption_method::fips) {
        const auto encrypt_t = crypto::sha1({cr.last(16), sr.last(16)});
        const auto decrypt_t = crypto::sha1({cr.first(16), sr.first(16)});
        keys.encrypt_key = expand_des_key(encrypt_t);
        keys.decrypt_key = expand_des_key(decrypt_t);
        const auto hmac = crypto::sha1({view(decrypt_t), view(encrypt_t)});
        keys.hmac_key.assign(hmac.begin(), hmac.end());
        return keys;
    }
    Bytes pre_master(cr.begin(), cr.begin() + 24);
    pre_master.insert(pre_master.end(), sr.begin(), sr.begin() + 24);
    Bytes master = triple_hash(pre_master, 'A', cr, sr);
    Bytes blob = triple_hash(master, 'X', cr, sr);
    const ByteView b(blob);
    const Bytes mac128(b.begin(), b.begin() + 16);
    const auto decrypt128 = crypto::md5({b.subspan(16, 16), cr, sr});
    const auto encrypt128 = crypto::md5({b.subspan(32, 16), cr, sr});
    keys.mac_key = reduce(mac128, method);
    keys.decrypt_key = reduce(Bytes(decrypt128.begin(), decrypt128.end()), method);
    keys.encrypt_key = reduce(Bytes(encrypt128.begin(), encrypt128.end()), method);
    for (Bytes* k : {&pre_master, &master, &blob}) crypto::cleanse(k->data(), k->size());
    return keys;
}

struct StandardSecurity::State {
    SessionKeys keys;
    bool fips = false;
    Rc4Direction rc4_out, rc4_in;
    crypto::TripleDes des_out, des_in;
    uint32_t sealed = 0;
    uint32_t opened = 0;
};

StandardSecurity::StandardSecurity(const SessionKeys& keys) : s_(std::make_unique<State>()) {
    s_->keys = keys;
    s_->fips = keys.method == encryption_method::fips;
    if (s_->fips) {
        s_->des_out.reset(keys.encrypt_key, kFipsIv, true);
        s_->des_in.reset(keys.decrypt_key, kFipsIv, false);
    } else {
        s_->rc4_out.start(keys.encrypt_key);
        s_->rc4_in.start(keys.decrypt_key);
    }
}

StandardSecurity::~StandardSecurity() = default;
StandardSecurity::StandardSecurity(StandardSecurity&&) noexcept = default;

bool StandardSecurity::fips() const {
    return s_->fips;
}
uint32_t StandardSecurity::packets_sealed() const {
    return s_->sealed;
}
uint32_t StandardSecurity::packets_opened() const {
    return s_->opened;
}

Sealed StandardSecurity::seal(ByteView plaintext, bool salted) {
    Sealed out;
    if (s_->fips) {
        const auto count = le32(s_->sealed);
        out.mac = first8(view(crypto::hmac_sha1(s_->keys.hmac_key, {plaintext, view(count)})));
        out.fips_padding = uint8_t((8 - plaintext.size() % 8) % 8);
        // Room for the padding first: growing later would leave a copy of the plaintext behind.
        out.data.reserve(plaintext.size() + out.fips_padding);
        out.data.assign(plaintext.begin(), plaintext.end());
        out.data.resize(plaintext.size() + out.fips_padding, 0);
        s_->des_out.apply(out.data.data(), out.data.size());
    } else {
        out.mac = rc4_mac(s_->keys.mac_key, plaintext, salted, s_->sealed);
        out.data.assign(plaintext.begin(), plaintext.end());
        s_->rc4_out.apply(s_->keys.method, out.data.data(), out.data.size());
    }
    ++s_->sealed;
    return out;
}

bool StandardSecurity::open(Bytes& data, const uint8_t* mac, bool salted, uint8_t fips_padding) {
    std::array<uint8_t, 8> expected;
    if (s_->fips) {
        if (data.size() % 8 != 0 || fips_padding > 7 || fips_padding > data.size()) return false;
        s_->des_in.apply(data.data(), data.size());
        data.resize(data.size() - fips_padding);
        const auto count = le32(s_->opened);
        expected = first8(view(crypto::hmac_sha1(s_->keys.hmac_key, {data, view(count)})));
    } else {
        s_->rc4_in.apply(s_->keys.method, data.data(), data.size());
        expected = rc4_mac(s_->keys.mac_key, data, salted, s_->opened);
    }
    ++s_->opened;
    return std::equal(expected.begin(), expected.end(), mac);
}

}  // namespace rdpbridge::rdp
