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
Result<crypto::Md5> salted_hash(ByteView s, ByteView i, ByteView cr, ByteView sr) {
    const auto sha = crypto::sha1({i, s, cr, sr});
    if (!sha) return sha.error();
    return crypto::md5({s, view(*sha)});
}

// Three salted hashes over 'A','BB','CCC' (or 'X','YY','ZZZ') concatenated.
Result<Bytes> triple_hash(ByteView secret, char first, ByteView cr, ByteView sr) {
    Bytes out;
    for (int n = 1; n <= 3; ++n) {
        const Bytes label(std::size_t(n), uint8_t(first + n - 1));
        const auto h = salted_hash(secret, label, cr, sr);
        if (!h) {
            crypto::cleanse(out.data(), out.size());
            return h.error();
        }
        out.insert(out.end(), h->begin(), h->end());
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
Result<std::array<uint8_t, 8>> rc4_mac(ByteView mac_key, ByteView data, bool salted,
                                       uint32_t count) {
    const auto len = le32(uint32_t(data.size()));
    const auto c = le32(count);
    const auto sha = salted ? crypto::sha1({mac_key, view(pad1()), view(len), data, view(c)})
                            : crypto::sha1({mac_key, view(pad1()), view(len), data});
    if (!sha) return sha.error();
    const auto md = crypto::md5({mac_key, view(pad2()), view(*sha)});
    if (!md) return md.error();
    return first8(view(*md));
}

Result<std::array<uint8_t, 8>> fips_mac(ByteView hmac_key, ByteView data, uint32_t count) {
    const auto c = le32(count);
    const auto hmac = crypto::hmac_sha1(hmac_key, {data, view(c)});
    if (!hmac) return hmac.error();
    return first8(view(*hmac));
}

// [MS-RDPBCGR] 5.3.7.1: a new RC4 key from the initial and current ones.
Result<Bytes> update_key(const Bytes& initial, const Bytes& current, uint32_t method) {
    const auto sha = crypto::sha1({initial, view(pad1()), current});
    if (!sha) return sha.error();
    const auto md = crypto::md5({initial, view(pad2()), view(*sha)});
    if (!md) return md.error();
    Bytes temp(md->begin(), md->begin() + long(initial.size()));
    crypto::Rc4 rc4;
    Status keyed = rc4.reset(temp);
    if (keyed) keyed = rc4.apply(temp.data(), temp.size());
    if (!keyed) {
        crypto::cleanse(temp.data(), temp.size());
        return keyed.error();
    }
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

    Status start(const Bytes& key) {
        initial = current = key;
        return rc4.reset(current);
    }
    Status apply(uint32_t method, uint8_t* data, std::size_t size) {
        if (since_update == kKeyUpdateInterval) {
            auto next = update_key(initial, current, method);
            if (!next) return next.error();
            crypto::cleanse(current.data(), current.size());
            current = std::move(*next);
            if (auto keyed = rc4.reset(current); !keyed) return keyed;
            since_update = 0;
        }
        if (auto applied = rc4.apply(data, size); !applied) return applied;
        ++since_update;
        return Ok{};
    }
    ~Rc4Direction() {
        crypto::cleanse(initial.data(), initial.size());
        crypto::cleanse(current.data(), current.size());
    }
};

// A half-sealed PDU is plaintext: it is wiped before the error goes back.
Result<Sealed> wiped(Sealed& out, Error error) {
    crypto::cleanse(out.data.data(), out.data.size());
    return error;
}

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
        auto encrypt_t = crypto::sha1({cr.last(16), sr.last(16)});
        if (!encrypt_t) return encrypt_t.error();
        auto decrypt_t = crypto::sha1({cr.first(16), sr.first(16)});
        if (!decrypt_t) {
            crypto::cleanse(encrypt_t->data(), encrypt_t->size());
            return decrypt_t.error();
        }
        keys.encrypt_key = expand_des_key(*encrypt_t);
        keys.decrypt_key = expand_des_key(*decrypt_t);
        auto hmac = crypto::sha1({view(*decrypt_t), view(*encrypt_t)});
        for (auto* t : {&*encrypt_t, &*decrypt_t}) crypto::cleanse(t->data(), t->size());
        if (!hmac) return hmac.error();
        keys.hmac_key.assign(hmac->begin(), hmac->end());
        crypto::cleanse(hmac->data(), hmac->size());
        return keys;
    }
    Bytes pre_master(cr.begin(), cr.begin() + 24);
    pre_master.insert(pre_master.end(), sr.begin(), sr.begin() + 24);
    auto master = triple_hash(pre_master, 'A', cr, sr);
    crypto::cleanse(pre_master.data(), pre_master.size());
    if (!master) return master.error();
    auto blob = triple_hash(*master, 'X', cr, sr);
    crypto::cleanse(master->data(), master->size());
    if (!blob) return blob.error();
    const ByteView b(*blob);
    const Bytes mac128(b.begin(), b.begin() + 16);
    auto decrypt128 = crypto::md5({b.subspan(16, 16), cr, sr});
    auto encrypt128 = crypto::md5({b.subspan(32, 16), cr, sr});
    crypto::cleanse(blob->data(), blob->size());
    const auto wipe = [&] {
        for (auto* k : {&decrypt128, &encrypt128})
            if (*k) crypto::cleanse((*k)->data(), (*k)->size());
    };
    if (!decrypt128 || !encrypt128) {
        wipe();
        return (decrypt128 ? encrypt128 : decrypt128).error();
    }
    keys.mac_key = reduce(mac128, method);
    keys.decrypt_key = reduce(Bytes(decrypt128->begin(), decrypt128->end()), method);
    keys.encrypt_key = reduce(Bytes(encrypt128->begin(), encrypt128->end()), method);
    wipe();
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

StandardSecurity::StandardSecurity(std::unique_ptr<State> s) : s_(std::move(s)) {}

Result<StandardSecurity> StandardSecurity::create(const SessionKeys& keys) {
    auto s = std::make_unique<State>();
    s->keys = keys;
    s->fips = keys.method == encryption_method::fips;
    Status keyed = Ok{};
    if (s->fips) {
        keyed = s->des_out.reset(keys.encrypt_key, kFipsIv, true);
        if (keyed) keyed = s->des_in.reset(keys.decrypt_key, kFipsIv, false);
    } else {
        keyed = s->rc4_out.start(keys.encrypt_key);
        if (keyed) keyed = s->rc4_in.start(keys.decrypt_key);
    }
    if (!keyed) return keyed.error();
    return StandardSecurity(std::move(s));
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

Result<Sealed> StandardSecurity::seal(ByteView plaintext, bool salted) {
    Sealed out;
    if (s_->fips) {
        auto mac = fips_mac(s_->keys.hmac_key, plaintext, s_->sealed);
        if (!mac) return mac.error();
        out.mac = *mac;
        out.fips_padding = uint8_t((8 - plaintext.size() % 8) % 8);
        // Room for the padding first: growing later would leave a copy of the plaintext behind.
        out.data.reserve(plaintext.size() + out.fips_padding);
        out.data.assign(plaintext.begin(), plaintext.end());
        out.data.resize(plaintext.size() + out.fips_padding, 0);
        if (auto sealed = s_->des_out.apply(out.data.data(), out.data.size()); !sealed)
            return wiped(out, sealed.error());
    } else {
        auto mac = rc4_mac(s_->keys.mac_key, plaintext, salted, s_->sealed);
        if (!mac) return mac.error();
        out.mac = *mac;
        out.data.assign(plaintext.begin(), plaintext.end());
        if (auto sealed = s_->rc4_out.apply(s_->keys.method, out.data.data(), out.data.size());
            !sealed)
            return wiped(out, sealed.error());
    }
    ++s_->sealed;
    return out;
}

Result<Opened> StandardSecurity::open(Bytes& data, const uint8_t* mac, bool salted,
                                      uint8_t fips_padding) {
    Result<std::array<uint8_t, 8>> expected = Error{};
    if (s_->fips) {
        if (data.size() % 8 != 0 || fips_padding > 7 || fips_padding > data.size())
            return Opened::mac_mismatch;
        if (auto opened = s_->des_in.apply(data.data(), data.size()); !opened)
            return opened.error();
        // erase, not resize: only ever shrinks (GCC's -O1 -Wstringop-overflow cannot see
        // that a resize to size() - padding, checked above, never grows).
        data.erase(data.end() - fips_padding, data.end());
        expected = fips_mac(s_->keys.hmac_key, data, s_->opened);
    } else {
        if (auto opened = s_->rc4_in.apply(s_->keys.method, data.data(), data.size()); !opened)
            return opened.error();
        expected = rc4_mac(s_->keys.mac_key, data, salted, s_->opened);
    }
    if (!expected) return expected.error();
    ++s_->opened;
    return std::equal(expected->begin(), expected->end(), mac) ? Opened::verified
                                                               : Opened::mac_mismatch;
}

}  // namespace rdpbridge::rdp
