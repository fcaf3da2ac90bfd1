#include "rdp/rdpdr.hpp"

#include <algorithm>

namespace rdpbridge::rdp::rdpdr {

namespace {

constexpr std::size_t kDosNameSize = 8;
constexpr std::size_t kFixedAnnounceSize = 4 + 4 + kDosNameSize + 4;

Status expect_header(Reader& r, uint16_t packet, const char* field) {
    auto component = r.u16le(field);
    if (!component) return component.error();
    auto id = r.u16le(field);
    if (!id) return id.error();
    if (*component != kComponentCore || *id != packet)
        return Error{field, "not the expected rdpdr message"};
    return Ok{};
}

void write_header(Writer& w, uint16_t packet) {
    w.u16le(kComponentCore);
    w.u16le(packet);
}

}  // namespace

std::string device_type_name(uint32_t type) {
    switch (type) {
        case device::serial:
            return "serial";
        case device::parallel:
            return "parallel";
        case device::printer:
            return "printer";
        case device::drive:
            return "drive";
        case device::smartcard:
            return "smartcard";
        default:
            return "type " + hex32(type);
    }
}

uint16_t core_packet(ByteView message) {
    if (message.size() < kHeaderSize) return 0;
    if ((message[0] | message[1] << 8) != kComponentCore) return 0;
    return uint16_t(message[2] | message[3] << 8);
}

Result<std::vector<Device>> decode_device_list_announce(ByteView message) {
    Reader r(message);
    if (auto s = expect_header(r, kDeviceListAnnounce, "rdpdr.device_list_announce.header"); !s)
        return s.error();
    auto count = r.u32le("rdpdr.device_list_announce.device_count");
    if (!count) return count.error();
    if (*count > r.remaining() / kFixedAnnounceSize)
        return Error{"rdpdr.device_list_announce.device_count",
                     std::to_string(*count) + " devices do not fit in the message"};
    std::vector<Device> devices;
    for (uint32_t i = 0; i < *count; ++i) {
        const std::size_t start = r.position();
        Device d;
        auto type = r.u32le("rdpdr.device_announce.device_type");
        if (!type) return type.error();
        auto id = r.u32le("rdpdr.device_announce.device_id");
        if (!id) return id.error();
        auto dos = r.bytes(kDosNameSize, "rdpdr.device_announce.preferred_dos_name");
        if (!dos) return dos.error();
        auto length = r.u32le("rdpdr.device_announce.device_data_length");
        if (!length) return length.error();
        if (auto s = r.skip(*length, "rdpdr.device_announce.device_data"); !s) return s.error();
        d.type = *type;
        d.id = *id;
        const auto* name = reinterpret_cast<const char*>(dos->data());
        d.dos_name.assign(name, std::find(name, name + kDosNameSize, '\0'));
        d.announce = message.subspan(start, r.position() - start);
        devices.push_back(std::move(d));
    }
    if (!r.empty())
        return Error{"rdpdr.device_list_announce",
                     std::to_string(r.remaining()) + " byte(s) after the last device"};
    return devices;
}

Bytes encode_device_list_announce(const std::vector<Device>& devices) {
    Bytes out;
    Writer w(out);
    write_header(w, kDeviceListAnnounce);
    w.u32le(uint32_t(devices.size()));
    for (const auto& d : devices) w.bytes(d.announce);
    return out;
}

Result<std::vector<uint32_t>> decode_device_list_remove(ByteView message) {
    Reader r(message);
    if (auto s = expect_header(r, kDeviceListRemove, "rdpdr.device_list_remove.header"); !s)
        return s.error();
    auto count = r.u32le("rdpdr.device_list_remove.device_count");
    if (!count) return count.error();
    if (*count > r.remaining() / 4)
        return Error{"rdpdr.device_list_remove.device_count",
                     std::to_string(*count) + " ids do not fit in the message"};
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < *count; ++i) {
        auto id = r.u32le("rdpdr.device_list_remove.device_id");
        if (!id) return id.error();
        ids.push_back(*id);
    }
    return ids;
}

Bytes encode_device_list_remove(const std::vector<uint32_t>& ids) {
    Bytes out;
    Writer w(out);
    write_header(w, kDeviceListRemove);
    w.u32le(uint32_t(ids.size()));
    for (uint32_t id : ids) w.u32le(id);
    return out;
}

}  // namespace rdpbridge::rdp::rdpdr
