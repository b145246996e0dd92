// Every ramsafe.* setting as a GUC, defined from the core's table (core/config/settings.cc) so
// the companion and the server read the same names, defaults and rules.
#include "extension/ramsafe_ext.h"

extern "C" {
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"
}

#include <array>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace ramsafe::ext {
namespace {

constexpr size_t kMaxSettings = 48;

char* string_values[kMaxSettings];
int int_values[kMaxSettings];
bool bool_values[kMaxSettings];
int enum_values[kMaxSettings];

// GUC check hooks get no setting name, so each index gets its own instantiation.
// Exceptions stop here: a check hook must return, never throw.
bool check_value(size_t index, const char* value) {
  try {
    const SettingDef& def = setting_defs()[index];
    if (std::optional<std::string> problem = validate_setting(def, value ? value : "")) {
      GUC_check_errmsg("%s", problem->c_str());
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    GUC_check_errmsg("cannot check the value: %s", e.what());
    return false;
  }
}

template <size_t I>
bool check_string(char** newval, void** extra, GucSource source) {
  return check_value(I, *newval);
}

template <size_t... I>
constexpr std::array<GucStringCheckHook, sizeof...(I)> make_string_hooks(
    std::index_sequence<I...>) {
  return {&check_string<I>...};
}

constexpr auto kStringHooks = make_string_hooks(std::make_index_sequence<kMaxSettings>());

// Integers: PostgreSQL checks the range; this adds the setting's own rule (e.g. a
// multiple of 256 for ramsafe.drive_chunk_kb).
template <size_t I>
bool check_int(int* newval, void** extra, GucSource source) {
  return check_value(I, std::to_string(*newval).c_str());
}

template <size_t... I>
constexpr std::array<GucIntCheckHook, sizeof...(I)> make_int_hooks(std::index_sequence<I...>) {
  return {&check_int<I>...};
}

constexpr auto kIntHooks = make_int_hooks(std::make_index_sequence<kMaxSettings>());

// Server values that stand in for unset ramsafe.* settings.
std::string first_socket_directory() {
  std::string dirs = Unix_socket_directories ? Unix_socket_directories : "";
  std::string first = dirs.substr(0, dirs.find(','));
  while (!first.empty() && first.front() == ' ') first.erase(0, 1);
  while (!first.empty() && first.back() == ' ') first.pop_back();
  return first;
}

std::string boot_value(const SettingDef& def) {
  if (def.name == "ramsafe.data_directory" && DataDir) return DataDir;
  if (def.name == "ramsafe.host") return first_socket_directory();
  if (def.name == "ramsafe.port") return std::to_string(PostPortNumber);
  return def.default_value;
}

}  // namespace

namespace {

// What DefineCustom*Variable needs, in plain C storage: built by C++ code that may throw,
// then handed to PostgreSQL by a loop with no C++ objects alive (a GUC error longjmps).
struct GucSpec {
  const char* name;
  const char* description;
  SettingType type;
  GucContext context;
  int flags;
  const char* boot_string;
  int boot_int;
  bool boot_bool;
  int min_value;
  int max_value;
  config_enum_entry* options;
};

GucSpec specs[kMaxSettings];
size_t spec_count = 0;

char* keep(const std::string& text) {
  char* copy = strdup(text.c_str());
  if (copy == nullptr) throw std::bad_alloc();
  return copy;
}

void build_specs() {
  const auto& defs = setting_defs();
  if (defs.size() > kMaxSettings) throw std::length_error("more settings than the GUC table holds");
  for (size_t i = 0; i < defs.size(); ++i) {
    const SettingDef& def = defs[i];
    GucSpec& spec = specs[i];
    std::string boot = boot_value(def);
    spec.name = keep(def.name);
    spec.description = keep(def.description);
    spec.type = def.type;
    spec.context = def.context == SettingContext::kPostmaster ? PGC_POSTMASTER : PGC_SIGHUP;
    spec.flags = def.superuser_only ? GUC_SUPERUSER_ONLY : 0;
    spec.boot_string = keep(boot);
    spec.boot_int = def.type == SettingType::kInteger ? parse_pg_int(boot).value_or(0) : 0;
    spec.boot_bool =
        def.type == SettingType::kBoolean ? parse_pg_bool(boot).value_or(false) : false;
    spec.min_value = static_cast<int>(def.min_value);
    spec.max_value = static_cast<int>(def.max_value);
    if (def.type == SettingType::kEnum) {
      auto* options = static_cast<config_enum_entry*>(
          calloc(def.enum_values.size() + 1, sizeof(config_enum_entry)));
      if (options == nullptr) throw std::bad_alloc();
      for (size_t v = 0; v < def.enum_values.size(); ++v) {
        options[v].name = keep(def.enum_values[v]);
        options[v].val = static_cast<int>(v);
        if (def.enum_values[v] == boot) spec.boot_int = static_cast<int>(v);
      }
      spec.options = options;
    }
  }
  spec_count = defs.size();
}

}  // namespace

void define_settings() {
  char failure[256] = "";
  try {
    build_specs();
  } catch (const std::exception& e) {
    strlcpy(failure, e.what(), sizeof failure);
  }
  if (failure[0] != '\0') elog(ERROR, "ramsafe: cannot define its settings: %s", failure);

  for (size_t i = 0; i < spec_count; ++i) {
    const GucSpec& spec = specs[i];
    switch (spec.type) {
      case SettingType::kString:
      case SettingType::kPath:
        DefineCustomStringVariable(spec.name, spec.description, nullptr, &string_values[i],
                                   spec.boot_string, spec.context, spec.flags, kStringHooks[i],
                                   nullptr, nullptr);
        break;
      case SettingType::kInteger:
        DefineCustomIntVariable(spec.name, spec.description, nullptr, &int_values[i], spec.boot_int,
                                spec.min_value, spec.max_value, spec.context, spec.flags,
                                kIntHooks[i], nullptr, nullptr);
        break;
      case SettingType::kBoolean:
        DefineCustomBoolVariable(spec.name, spec.description, nullptr, &bool_values[i],
                                 spec.boot_bool, spec.context, spec.flags, nullptr, nullptr,
                                 nullptr);
        break;
      case SettingType::kEnum:
        DefineCustomEnumVariable(spec.name, spec.description, nullptr, &enum_values[i],
                                 spec.boot_int, spec.options, spec.context, spec.flags, nullptr,
                                 nullptr, nullptr);
        break;
    }
  }
  MarkGUCPrefixReserved("ramsafe");
}

Settings current_settings() {
  Settings settings;
  const auto& defs = setting_defs();
  for (size_t i = 0; i < defs.size(); ++i) {
    const SettingDef& def = defs[i];
    std::visit(
        [&](auto member) {
          using Field = std::decay_t<decltype(settings.*member)>;
          if constexpr (std::is_same_v<Field, std::string>) {
            if (def.type == SettingType::kEnum)
              settings.*member = def.enum_values[static_cast<size_t>(enum_values[i])];
            else
              settings.*member = string_values[i] ? string_values[i] : "";
          } else if constexpr (std::is_same_v<Field, int>) {
            settings.*member = int_values[i];
          } else {
            settings.*member = bool_values[i];
          }
        },
        def.field);
    settings.origin[def.name] = "server";
  }
  // The server's own programs: pg_dump of the server's version, as the design asks.
  if (settings.bindir.empty()) {
    char bindir[MAXPGPATH];
    strlcpy(bindir, my_exec_path, sizeof bindir);
    get_parent_directory(bindir);
    settings.bindir = bindir;
  }
  if (settings.data_directory.empty() && DataDir) settings.data_directory = DataDir;
  if (settings.host.empty()) settings.host = first_socket_directory();
  return settings;
}

void copy_text(char* dest, size_t size, const std::string& text) {
  strlcpy(dest, text.c_str(), size);
}

}  // namespace ramsafe::ext
