// A quick-start gateway (`rdpbridge run --listen --target`) has no config file: the fixes of the
// diagnosis table, which name config keys, are rephrased for the flags the admin typed, and
// keys no flag sets point at writing a config file.
#pragma once

#include <string>

namespace rdpbridge::proxy {

std::string quick_start_hint(std::string hint, const std::string& backend_name,
                             const std::string& target);

}  // namespace rdpbridge::proxy
