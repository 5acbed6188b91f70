#include "module/registry.hpp"

#include <dlfcn.h>

#include <map>
#include <mutex>
#include <stdexcept>

#include <toml++/toml.h>

#include "common/log.hpp"

namespace xmppd {
namespace {

// A function-local static: built-in modules register before main() in any order.
std::map<std::string, ModuleFactory, std::less<>>& factories() {
  static std::map<std::string, ModuleFactory, std::less<>> instance;
  return instance;
}

}  // namespace

bool register_module(std::string_view name, ModuleFactory factory) {
  return factories().emplace(std::string(name), factory).second;
}

namespace module {

ModuleFactory find(std::string_view name) {
  auto it = factories().find(name);
  return it == factories().end() ? nullptr : it->second;
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories()) out.push_back(name);
  return out;
}

std::string load_shared(const std::string& path) {
  // RTLD_NOW: a missing symbol fails here, at start, not at first use.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw std::runtime_error("cannot load module " + path + ": " + dlerror());
  using InfoFn = const ModuleInfo* (*)();
  auto info_fn = reinterpret_cast<InfoFn>(dlsym(handle, "xmppd_module_info"));
  if (!info_fn) throw std::runtime_error(path + " is not an xmppd module (no xmppd_module_info symbol)");
  const ModuleInfo* info = info_fn();
  if (info->api_version != kModuleApiVersion)
    throw std::runtime_error(path + " was built for module API version " + std::to_string(info->api_version) +
                             ", this server has version " + std::to_string(kModuleApiVersion) +
                             "; rebuild the module against this server's headers");
  if (!register_module(info->name, info->factory))
    throw std::runtime_error(path + " declares module \"" + info->name + "\", which already exists");
  return info->name;  // the handle stays open for the life of the process
}

void load_configured(const config::Config& config) {
  for (const auto& file : config.module_files) log::info("loaded module ", load_shared(file), " from ", file);

  auto unknown = [&](const std::string& where, const std::string& name) {
    std::string known;
    for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
    return std::runtime_error(config.source_path + ": " + where + ": no module named \"" + name +
                              "\" (known: " + (known.empty() ? "none" : known) + ")");
  };
  for (const auto& [name, settings] : *config.module_settings)
    if (!find(name.str())) throw unknown("modules." + std::string(name.str()), std::string(name.str()));
  for (const auto& host : config.hosts)
    for (const auto& name : host.modules)
      if (!find(name)) throw unknown("hosts.\"" + host.domain + "\".modules", name);
}

}  // namespace module
}  // namespace xmppd
