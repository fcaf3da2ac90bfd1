// Writing a report file (`rdpbridge logs --html`) so that nobody ever sees half of it: a new
// temporary file beside it, renamed over it once complete.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace rdpbridge::logs {

// Writes `text` to `path` through a temporary file in the same directory, then renames it over
// `path` (a symlink at `path` is replaced, never followed). The file gets the mode a shell
// redirection would give it (0666 less the umask). Returns why it failed; a failure leaves
// `path` as it was and no temporary file behind.
std::optional<std::string> write_file_atomically(const std::filesystem::path& path,
                                                 std::string_view text);

}  // namespace rdpbridge::logs
