// Reading a whole log file line by line: the live file, a rotated one (handshake.1.jsonl) or a
// gzip-compressed one (handshake.2.jsonl.gz). Compression is recognised by content, not by name.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "proxy/logs/line_splitter.hpp"

namespace rdpbridge::logs {

// Calls on_line for every line of `path`. Returns why the file could not be read (missing,
// permission, a directory, a corrupt or truncated gzip stream); lines delivered before a read
// error stand.
std::optional<std::string> read_lines(const std::filesystem::path& path, const LineFn& on_line);

}  // namespace rdpbridge::logs
