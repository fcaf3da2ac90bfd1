#include "rdp/client_info.hpp"

#include <array>
#include <string>

#include "rdp/utf16.hpp"

namespace rdpbridge::rdp::client_info {

namespace {

struct StringField {
    const char* length;      // its cb* field
    const char* text;        // the string
    const char* terminator;  // its null character
};

// In wire order.
constexpr std::array<StringField, 5> kStrings{{
    {"client_info.cbDomain", "client_info.Domain", "client_info.Domain.terminator"},
    {"client_info.cbUserName", "client_info.UserName", "client_info.UserName.terminator"},
    {"client_info.cbPassword", "client_info.Password", "client_info.Password.terminator"},
    {"client_info.cbAlternateShell", "client_info.AlternateShell",
     "client_info.AlternateShell.terminator"},
    {"client_info.cbWorkingDir", "client_info.WorkingDir", "client_info.WorkingDir.terminator"},
}};

constexpr std::size_t kMaxString = 0xFFFF;  // what a cb* field can tell

Status fits(ByteView text, const char* field) {
    if (text.size() > kMaxString)
        return Error{field, "longer than the 65535 bytes a TS_INFO_PACKET length can tell"};
    return Ok{};
}

void write_string(Writer& w, ByteView text) {
    w.bytes(text);
    w.u16le(0);  // terminator
}

}  // namespace

Result<InfoPacket> decode(ByteView info_packet) {
    Reader r(info_packet);
    InfoPacket p;
    auto code_page = r.u32le("client_info.CodePage");
    if (!code_page) return code_page.error();
    auto flags = r.u32le("client_info.flags");
    if (!flags) return flags.error();
    p.code_page = *code_page;
    p.flags = *flags;
    std::array<uint16_t, kStrings.size()> lengths{};
    for (std::size_t i = 0; i < kStrings.size(); ++i) {
        auto length = r.u16le(kStrings[i].length);
        if (!length) return length.error();
        lengths[i] = *length;
    }
    const std::size_t terminator = p.unicode() ? 2 : 1;
    const std::array<ByteView*, kStrings.size()> texts{&p.domain, &p.user_name, &p.password,
                                                       &p.alternate_shell, &p.working_dir};
    for (std::size_t i = 0; i < kStrings.size(); ++i) {
        if (p.unicode() && lengths[i] % 2 != 0)
            return Error{kStrings[i].length,
                         std::to_string(lengths[i]) + " bytes, an odd number for UTF-16LE text"};
        auto text = r.bytes(lengths[i], kStrings[i].text);
        if (!text) return text.error();
        auto nul = r.bytes(terminator, kStrings[i].terminator);
        if (!nul) return nul.error();
        for (uint8_t b : *nul)
            if (b != 0) return Error{kStrings[i].terminator, "not a null character"};
        *texts[i] = *text;
    }
    p.extended = r.rest();
    return p;
}

Result<Secret> with_credentials(ByteView info_packet,
                                const credssp::PasswordCredentials& credentials) {
    auto p = decode(info_packet);
    if (!p) return p.error();
    if (!p->unicode())
        return Error{"client_info.flags",
                     "INFO_UNICODE not set (ANSI text in code page " +
                         std::to_string(p->code_page) +
                         "): credentials are injected only into a Unicode Client Info"};
    auto domain = utf8_to_utf16le(credentials.domain, "credentials.domain");
    if (!domain) return domain.error();
    auto user = utf8_to_utf16le(credentials.user, "credentials.user");
    if (!user) return user.error();
    const ByteView password = credentials.password.view();
    if (password.size() % 2 != 0)
        return Error{"credentials.password", "not UTF-16LE (an odd number of bytes)"};
    if (auto s = fits(*domain, "credentials.domain"); !s) return s.error();
    if (auto s = fits(*user, "credentials.user"); !s) return s.error();
    if (auto s = fits(password, "credentials.password"); !s) return s.error();

    const std::size_t size = kFixedSize + domain->size() + user->size() + password.size() +
                             p->alternate_shell.size() + p->working_dir.size() +
                             kStrings.size() * 2 + p->extended.size();
    Bytes out;
    out.reserve(size);  // the only allocation: the password is never moved afterwards
    Writer w(out);
    w.u32le(p->code_page);
    w.u32le((p->flags | info_autologon) & ~info_password_is_sc_pin);
    w.u16le(uint16_t(domain->size()));
    w.u16le(uint16_t(user->size()));
    w.u16le(uint16_t(password.size()));
    w.u16le(uint16_t(p->alternate_shell.size()));
    w.u16le(uint16_t(p->working_dir.size()));
    write_string(w, *domain);
    write_string(w, *user);
    write_string(w, password);
    write_string(w, p->alternate_shell);
    write_string(w, p->working_dir);
    w.bytes(p->extended);
    return Secret(std::move(out));
}

}  // namespace rdpbridge::rdp::client_info
