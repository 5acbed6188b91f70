// Which modules exist: the built-in ones (registered at static-initialization time) and
// those loaded from shared objects named in the config.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <xmppd/module.hpp>

#include "config/config.hpp"

namespace xmppd::module {

// The factory registered under `name`, or nullptr.
ModuleFactory find(std::string_view name);
std::vector<std::string> names();

// Loads an out-of-tree module and registers it under the name it declares, which is
// returned. Throws std::runtime_error naming the file: cannot load, no xmppd_module_info,
// built against another module API version, or a name already taken.
std::string load_shared(const std::string& path);

// Loads the config's module_files and checks that every module a host enables and every
// [modules.<name>] table names a known module. Throws std::runtime_error saying which.
void load_configured(const config::Config& config);

}  // namespace xmppd::module
