#include "core/config/settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/config/config.h"
#include "core/error.h"
#include "core/io/paths.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

Settings load(const std::string& text) {
  return load_settings(config::parse_text(text, "t.conf", "/nowhere"));
}

using test::config_error;

// A setting's value in Settings, as text, whatever its C++ type.
std::string field_text(const Settings& settings, const SettingDef& def) {
  return std::visit(
      [&settings](auto member) -> std::string {
        const auto& value = settings.*member;
        using Value = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<Value, std::string>) {
          return value;
        } else if constexpr (std::is_same_v<Value, bool>) {
          return value ? "on" : "off";
        } else {
          return std::to_string(value);
        }
      },
      def.field);
}

const SettingDef& def_named(const std::string& name) {
  const SettingDef* def = find_setting(name);
  if (def == nullptr) throw std::runtime_error("no setting " + name);
  return *def;
}

TEST(SettingDefsTest, NamesAreUniqueLowerCaseAndPrefixed) {
  std::set<std::string> names;
  for (const auto& def : setting_defs()) {
    EXPECT_EQ(def.name.rfind("ramsafe.", 0), 0u) << def.name;
    EXPECT_EQ(def.name.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), std::string::npos);
    EXPECT_TRUE(names.insert(def.name).second) << "duplicate " << def.name;
    EXPECT_FALSE(def.description.empty()) << def.name;
  }
  EXPECT_EQ(names.size(), 35u);
}

TEST(SettingDefsTest, DefaultsAreValidAndFieldsMatchTypes) {
  for (const auto& def : setting_defs()) {
    EXPECT_EQ(validate_setting(def, def.default_value), std::nullopt) << def.name;
    switch (def.type) {
      case SettingType::kInteger:
        EXPECT_TRUE(std::holds_alternative<int Settings::*>(def.field)) << def.name;
        EXPECT_LE(def.min_value, def.max_value) << def.name;
        break;
      case SettingType::kBoolean:
        EXPECT_TRUE(std::holds_alternative<bool Settings::*>(def.field)) << def.name;
        break;
      case SettingType::kEnum:
        EXPECT_FALSE(def.enum_values.empty()) << def.name;
        [[fallthrough]];
      case SettingType::kString:
      case SettingType::kPath:
        EXPECT_TRUE(std::holds_alternative<std::string Settings::*>(def.field)) << def.name;
        break;
    }
    EXPECT_TRUE(std::visit([](auto member) { return member != nullptr; }, def.field)) << def.name;
  }
}

TEST(SettingDefsTest, SecretFilesAreSuperuserOnly) {
  std::set<std::string> superuser_only;
  std::set<std::string> postmaster;
  for (const auto& def : setting_defs()) {
    if (def.superuser_only) superuser_only.insert(def.name);
    if (def.context == SettingContext::kPostmaster) postmaster.insert(def.name);
  }
  EXPECT_EQ(superuser_only,
            (std::set<std::string>{"ramsafe.passphrase_file", "ramsafe.identity_file",
                                   "ramsafe.passfile", "ramsafe.drive_credentials_file",
                                   "ramsafe.drive_token_file", "ramsafe.signing_key_file"}));
  EXPECT_EQ(postmaster, std::set<std::string>{"ramsafe.data_directory"});
}

TEST(SettingDefsTest, FindSettingIsCaseInsensitive) {
  ASSERT_NE(find_setting("RAMSAFE.Port"), nullptr);
  EXPECT_EQ(find_setting("RAMSAFE.Port")->name, "ramsafe.port");
  EXPECT_EQ(find_setting("ramsafe.nope"), nullptr);
  EXPECT_EQ(find_setting("port"), nullptr);
}

TEST(LoadSettingsTest, EmptyFileGivesTheDefaults) {
  Settings loaded = load("");
  Settings defaults;
  for (const auto& def : setting_defs()) {
    EXPECT_EQ(field_text(loaded, def), field_text(defaults, def)) << def.name;
    EXPECT_EQ(field_text(loaded, def), def.default_value) << def.name;
    EXPECT_EQ(loaded.origin.at(def.name), "default") << def.name;
  }
  EXPECT_EQ(loaded.origin.size(), setting_defs().size());
  EXPECT_EQ(loaded.compression_level, 3);
  EXPECT_EQ(loaded.port, 5432);
  EXPECT_EQ(loaded.on_missing, "fail");
}

struct ValidCase {
  std::string name;
  std::string value;     // as written in the file
  std::string expected;  // the Settings field, as text
};

void PrintTo(const ValidCase& c, std::ostream* os) {
  *os << c.name << " = " << test::printable_param(c.value);
}

class ValidSettingTest : public testing::TestWithParam<ValidCase> {};

TEST_P(ValidSettingTest, IsAcceptedAndStored) {
  const ValidCase& c = GetParam();
  Settings settings = load("\n" + c.name + " = " + c.value + "\n");
  EXPECT_EQ(field_text(settings, def_named(c.name)), c.expected) << c.name << " = " << c.value;
  EXPECT_EQ(settings.origin.at(c.name), "t.conf:2");
}

INSTANTIATE_TEST_SUITE_P(
    All, ValidSettingTest,
    testing::Values(
        ValidCase{"ramsafe.cluster_name", "main", "main"},
        ValidCase{"ramsafe.cluster_name", "'pg-15.main_1'", "pg-15.main_1"},
        ValidCase{"ramsafe.cluster_name", "''", ""},
        ValidCase{"ramsafe.cluster_name", "'..a'", "..a"},
        ValidCase{"ramsafe.cluster_name", std::string(63, 'x'), std::string(63, 'x')},
        ValidCase{"ramsafe.local_dir", "'/var/backups/ramsafe'", "/var/backups/ramsafe"},
        ValidCase{"ramsafe.local_dir", "''", ""},
        ValidCase{"ramsafe.recipients_file", "'/etc/ramsafe/recipients.txt'",
                  "/etc/ramsafe/recipients.txt"},
        ValidCase{"ramsafe.passphrase_file", "'/etc/ramsafe/passphrase'",
                  "/etc/ramsafe/passphrase"},
        ValidCase{"ramsafe.identity_file", "'/root/ramsafe.key'", "/root/ramsafe.key"},
        ValidCase{"ramsafe.compression_level", "1", "1"},
        ValidCase{"ramsafe.compression_level", "19", "19"},
        ValidCase{"ramsafe.compression_level", "'7'", "7"},
        ValidCase{"ramsafe.compression_level", "' 7 '", "7"},
        ValidCase{"ramsafe.compression_level", "+5", "5"},
        ValidCase{"ramsafe.compression_level", "0x0A", "10"},
        ValidCase{"ramsafe.compression_level", "010", "8"},  // octal, as PostgreSQL reads it
        ValidCase{"ramsafe.compression_level", "2.5", "2"},  // rounded half to even
        ValidCase{"ramsafe.compression_level", "3.5", "4"},
        ValidCase{"ramsafe.compression_level", "'1e1'", "10"},
        ValidCase{"ramsafe.data_directory", "'/var/lib/postgresql/15/main'",
                  "/var/lib/postgresql/15/main"},
        ValidCase{"ramsafe.host", "'/var/run/postgresql'", "/var/run/postgresql"},
        ValidCase{"ramsafe.host", "db.example.com", "db.example.com"},
        ValidCase{"ramsafe.host", "''", ""}, ValidCase{"ramsafe.port", "1", "1"},
        ValidCase{"ramsafe.port", "65535", "65535"}, ValidCase{"ramsafe.port", "5433", "5433"},
        ValidCase{"ramsafe.user", "backup", "backup"},
        ValidCase{"ramsafe.user", "'Backup Role'", "Backup Role"},
        ValidCase{"ramsafe.passfile", "'/root/.pgpass'", "/root/.pgpass"},
        ValidCase{"ramsafe.bindir", "'/usr/lib/postgresql/15/bin'", "/usr/lib/postgresql/15/bin"},
        ValidCase{"ramsafe.restore_jobs", "0", "0"}, ValidCase{"ramsafe.restore_jobs", "64", "64"},
        ValidCase{"ramsafe.restore_jobs", "8", "8"},
        ValidCase{"ramsafe.on_missing", "fail", "fail"},
        ValidCase{"ramsafe.on_missing", "init", "init"},
        ValidCase{"ramsafe.on_missing", "INIT", "init"},
        ValidCase{"ramsafe.on_missing", "'Fail'", "fail"},
        ValidCase{"ramsafe.schedule", "'*/5 * * * *'", "*/5 * * * *"},
        ValidCase{"ramsafe.schedule", "'@daily'", "@daily"},
        ValidCase{"ramsafe.schedule", "''", ""},
        ValidCase{"ramsafe.timezone", "'Europe/Berlin'", "Europe/Berlin"},
        ValidCase{"ramsafe.timezone", "''", ""}, ValidCase{"ramsafe.ram_warn_percent", "90", "90"},
        ValidCase{"ramsafe.drive_chunk_kb", "512", "512"},
        ValidCase{"ramsafe.drive_api_url", "'https://127.0.0.1:8443'", "https://127.0.0.1:8443"},
        ValidCase{"ramsafe.drive_folder_id", "'0AbCdEfGhIjK'", "0AbCdEfGhIjK"}));

struct InvalidCase {
  std::string name;
  std::string value;  // as written in the file
  std::string message;
};

void PrintTo(const InvalidCase& c, std::ostream* os) {
  *os << c.name << " = " << test::printable_param(c.value);
}

class InvalidSettingTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidSettingTest, IsRejectedWithAClearMessage) {
  const InvalidCase& c = GetParam();
  EXPECT_EQ(config_error([&] { load("# first\n" + c.name + " = " + c.value + "\n"); }),
            "t.conf:2: " + c.message);
}

const char kClusterNameExpected[] =
    "(expected 1 to 63 letters, digits, '_', '.' or '-', other than \".\" and \"..\")";
const char kAbsolutePathExpected[] = "(expected an absolute path)";
const char kLevelExpected[] = "(expected an integer from 1 to 19)";
const char kPortExpected[] = "(expected an integer from 1 to 65535)";

INSTANTIATE_TEST_SUITE_P(
    All, InvalidSettingTest,
    testing::Values(
        InvalidCase{"ramsafe.drive_chunk_kb", "300",
                    "invalid value for ramsafe.drive_chunk_kb: \"300\" (expected a multiple of 256 "
                    "from 256 to 1048576)"},
        InvalidCase{"ramsafe.drive_chunk_kb", "128",
                    "invalid value for ramsafe.drive_chunk_kb: \"128\" (expected a multiple of 256 "
                    "from 256 to 1048576)"},
        InvalidCase{"ramsafe.drive_api_url", "'http://www.googleapis.com'",
                    "invalid value for ramsafe.drive_api_url: \"http://www.googleapis.com\" "
                    "(expected an https:// URL without a trailing slash)"},
        InvalidCase{"ramsafe.drive_oauth_url", "'https://oauth2.googleapis.com/'",
                    "invalid value for ramsafe.drive_oauth_url: \"https://oauth2.googleapis.com/\" "
                    "(expected an https:// URL without a trailing slash)"},
        InvalidCase{"ramsafe.drive_credentials_file", "'key.json'",
                    std::string("invalid value for ramsafe.drive_credentials_file: \"key.json\" ") +
                        kAbsolutePathExpected},
        InvalidCase{
            "ramsafe.cluster_name", "'a/b'",
            std::string("invalid value for ramsafe.cluster_name: \"a/b\" ") + kClusterNameExpected},
        InvalidCase{
            "ramsafe.cluster_name", "'..'",
            std::string("invalid value for ramsafe.cluster_name: \"..\" ") + kClusterNameExpected},
        InvalidCase{
            "ramsafe.cluster_name", "'.'",
            std::string("invalid value for ramsafe.cluster_name: \".\" ") + kClusterNameExpected},
        InvalidCase{
            "ramsafe.cluster_name", "'a b'",
            std::string("invalid value for ramsafe.cluster_name: \"a b\" ") + kClusterNameExpected},
        InvalidCase{"ramsafe.cluster_name", "'z\xc3\xbcrich'",
                    std::string("invalid value for ramsafe.cluster_name: \"z\xc3\xbcrich\" ") +
                        kClusterNameExpected},
        InvalidCase{"ramsafe.cluster_name", std::string(64, 'x'),
                    "invalid value for ramsafe.cluster_name: \"" + std::string(64, 'x') + "\" " +
                        kClusterNameExpected},
        InvalidCase{"ramsafe.local_dir", "'backups'",
                    std::string("invalid value for ramsafe.local_dir: \"backups\" ") +
                        kAbsolutePathExpected},
        InvalidCase{"ramsafe.local_dir", "'~/backups'",
                    std::string("invalid value for ramsafe.local_dir: \"~/backups\" ") +
                        kAbsolutePathExpected},
        InvalidCase{"ramsafe.recipients_file", "'recipients.txt'",
                    std::string("invalid value for ramsafe.recipients_file: \"recipients.txt\" ") +
                        kAbsolutePathExpected},
        InvalidCase{"ramsafe.passphrase_file", "'./pass'",
                    std::string("invalid value for ramsafe.passphrase_file: \"./pass\" ") +
                        kAbsolutePathExpected},
        InvalidCase{"ramsafe.identity_file", "key",
                    std::string("invalid value for ramsafe.identity_file: \"key\" ") +
                        kAbsolutePathExpected},
        InvalidCase{"ramsafe.data_directory", "'data'",
                    std::string("invalid value for ramsafe.data_directory: \"data\" ") +
                        kAbsolutePathExpected},
        InvalidCase{"ramsafe.passfile", "'.pgpass'",
                    std::string("invalid value for ramsafe.passfile: \".pgpass\" ") +
                        kAbsolutePathExpected},
        InvalidCase{
            "ramsafe.bindir", "bin",
            std::string("invalid value for ramsafe.bindir: \"bin\" ") + kAbsolutePathExpected},
        InvalidCase{
            "ramsafe.compression_level", "abc",
            std::string("invalid value for ramsafe.compression_level: \"abc\" ") + kLevelExpected},
        InvalidCase{
            "ramsafe.compression_level", "0",
            std::string("invalid value for ramsafe.compression_level: \"0\" ") + kLevelExpected},
        InvalidCase{
            "ramsafe.compression_level", "20",
            std::string("invalid value for ramsafe.compression_level: \"20\" ") + kLevelExpected},
        InvalidCase{
            "ramsafe.compression_level", "-1",
            std::string("invalid value for ramsafe.compression_level: \"-1\" ") + kLevelExpected},
        InvalidCase{
            "ramsafe.compression_level", "''",
            std::string("invalid value for ramsafe.compression_level: \"\" ") + kLevelExpected},
        InvalidCase{
            "ramsafe.compression_level", "3MB",
            std::string("invalid value for ramsafe.compression_level: \"3MB\" ") + kLevelExpected},
        InvalidCase{
            "ramsafe.compression_level", "0x",
            std::string("invalid value for ramsafe.compression_level: \"0x\" ") + kLevelExpected},
        InvalidCase{"ramsafe.compression_level", "'1e400'",
                    std::string("invalid value for ramsafe.compression_level: \"1e400\" ") +
                        kLevelExpected},
        InvalidCase{
            "ramsafe.compression_level", "nan",
            std::string("invalid value for ramsafe.compression_level: \"nan\" ") + kLevelExpected},
        InvalidCase{"ramsafe.compression_level", "'3\\n4'",
                    std::string("invalid value for ramsafe.compression_level: \"3\\x0a4\" ") +
                        kLevelExpected},
        InvalidCase{"ramsafe.compression_level", "'3\"'",
                    std::string("invalid value for ramsafe.compression_level: \"3\\\"\" ") +
                        kLevelExpected},
        InvalidCase{"ramsafe.port", "0",
                    std::string("invalid value for ramsafe.port: \"0\" ") + kPortExpected},
        InvalidCase{"ramsafe.port", "65536",
                    std::string("invalid value for ramsafe.port: \"65536\" ") + kPortExpected},
        InvalidCase{"ramsafe.port", "2147483648",
                    std::string("invalid value for ramsafe.port: \"2147483648\" ") + kPortExpected},
        InvalidCase{"ramsafe.port", "postgres",
                    std::string("invalid value for ramsafe.port: \"postgres\" ") + kPortExpected},
        InvalidCase{"ramsafe.restore_jobs", "-1",
                    "invalid value for ramsafe.restore_jobs: \"-1\" (expected an integer from 0 "
                    "to 64)"},
        InvalidCase{"ramsafe.restore_jobs", "65",
                    "invalid value for ramsafe.restore_jobs: \"65\" (expected an integer from 0 "
                    "to 64)"},
        InvalidCase{"ramsafe.on_missing", "maybe",
                    "invalid value for ramsafe.on_missing: \"maybe\" (expected one of: fail, "
                    "init)"},
        InvalidCase{"ramsafe.on_missing", "fai",
                    "invalid value for ramsafe.on_missing: \"fai\" (expected one of: fail, "
                    "init)"},
        InvalidCase{"ramsafe.on_missing", "''",
                    "invalid value for ramsafe.on_missing: \"\" (expected one of: fail, "
                    "init)"},
        InvalidCase{"ramsafe.schedule", "'61 * * * *'",
                    "invalid value for ramsafe.schedule: \"61 * * * *\" (minute 61 is out of range "
                    "0-59)"},
        InvalidCase{"ramsafe.schedule", "'@sometimes'",
                    "invalid value for ramsafe.schedule: \"@sometimes\" (unknown macro @sometimes "
                    "(expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or "
                    "@hourly))"},
        InvalidCase{"ramsafe.timezone", "'Mars/Olympus'",
                    "invalid value for ramsafe.timezone: \"Mars/Olympus\" (not a time zone in "
                    "/usr/share/zoneinfo; expected an IANA name such as Europe/Berlin or UTC)"},
        InvalidCase{"ramsafe.ram_warn_percent", "0",
                    "invalid value for ramsafe.ram_warn_percent: \"0\" (expected an integer "
                    "from 1 to 100)"}));

TEST(ValidateSettingTest, BooleanSettingsUseThePostgresqlSpellings) {
  SettingDef def;
  def.name = "ramsafe.some_switch";
  def.type = SettingType::kBoolean;
  EXPECT_EQ(validate_setting(def, "on"), std::nullopt);
  EXPECT_EQ(validate_setting(def, "maybe"),
            "invalid value for ramsafe.some_switch: \"maybe\" (expected on, off, true, false, "
            "yes, no, 1 or 0)");
}

TEST(ValidateSettingTest, StringsAcceptAnything) {
  EXPECT_EQ(validate_setting(def_named("ramsafe.user"), "any thing\n"), std::nullopt);
  EXPECT_EQ(validate_setting(def_named("ramsafe.host"), ""), std::nullopt);
}

TEST(ParsePgIntTest, MatchesPostgresqlParseInt) {
  struct Case {
    const char* text;
    std::optional<int> expected;
  };
  const Case cases[] = {
      {"0", 0},
      {"42", 42},
      {"-42", -42},
      {"+42", 42},
      {" 42", 42},
      {"42 ", 42},
      {"\t42\n", 42},
      {"0x1F", 31},
      {"0X1f", 31},
      {"-0x10", -16},
      {"010", 8},
      {"1.4", 1},
      {"1.5", 2},
      {"2.5", 2},
      {"-1.5", -2},
      {"1e3", 1000},
      {"1E3", 1000},
      {".5", 0},
      {"2147483647", 2147483647},
      {"-2147483648", -2147483647 - 1},
      {"", std::nullopt},
      {" ", std::nullopt},
      {"abc", std::nullopt},
      {"1a", std::nullopt},
      {"10MB", std::nullopt},
      {"2147483648", std::nullopt},
      {"-2147483649", std::nullopt},
      {"99999999999999999999", std::nullopt},
      {"1e400", std::nullopt},
      {"nan", std::nullopt},
      {"inf", std::nullopt},
      {"08", std::nullopt},
      {"0x", std::nullopt},
      {"1 2", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_pg_int(c.text), c.expected) << '"' << c.text << '"';
  EXPECT_EQ(parse_pg_int(std::string("4\0", 2)), std::nullopt);
}

TEST(ParsePgBoolTest, MatchesPostgresqlParseBool) {
  for (const char* text :
       {"on", "ON", "On", "true", "TRUE", "t", "tr", "tru", "yes", "y", "ye", "YES", "1"}) {
    EXPECT_EQ(parse_pg_bool(text), true) << text;
  }
  for (const char* text : {"off", "OFF", "of", "false", "f", "fa", "fals", "no", "n", "NO", "0"}) {
    EXPECT_EQ(parse_pg_bool(text), false) << text;
  }
  for (const char* text : {"", "o", "onn", "offf", "truex", "yess", "nope", "2", "10", "00", " on",
                           "on ", "-1", "enable"}) {
    EXPECT_EQ(parse_pg_bool(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(LoadSettingsTest, UnknownSettingSuggestsTheClosestName) {
  EXPECT_EQ(config_error([] { load("ramsafe.prot = 5432\n"); }),
            "unrecognized setting ramsafe.prot at t.conf:1 (did you mean ramsafe.port?)");
  EXPECT_EQ(config_error([] { load("\nRAMSAFE.Compresion_Level = 3\n"); }),
            "unrecognized setting ramsafe.compresion_level at t.conf:2 (did you mean "
            "ramsafe.compression_level?)");
  EXPECT_EQ(config_error([] { load("ramsafe.localdir = '/x'\n"); }),
            "unrecognized setting ramsafe.localdir at t.conf:1 (did you mean ramsafe.local_dir?)");
  EXPECT_EQ(config_error([] { load("ramsafe.recipient_file = '/x'\n"); }),
            "unrecognized setting ramsafe.recipient_file at t.conf:1 (did you mean "
            "ramsafe.recipients_file?)");
  EXPECT_EQ(config_error([] { load("ramsafe.frobnicate = 1\n"); }),
            "unrecognized setting ramsafe.frobnicate at t.conf:1");
}

TEST(LoadSettingsTest, OtherSettingsAreIgnored) {
  Settings settings = load(
      "shared_buffers = 128MB\n"
      "pg_stat_statements.max = 10000\n"
      "ramsafex.anything = 1\n"
      "listen_addresses = '*'\n");
  EXPECT_EQ(settings.port, 5432);
  EXPECT_EQ(settings.host, "");
}

TEST(LoadSettingsTest, EveryProblemIsReportedOnItsOwnLine) {
  EXPECT_EQ(config_error([] {
              load("ramsafe.port = 0\nramsafe.bogus = 1\nramsafe.compression_level = 99\n");
            }),
            "unrecognized setting ramsafe.bogus at t.conf:2\n"
            "t.conf:3: invalid value for ramsafe.compression_level: \"99\" (expected an integer "
            "from 1 to 19)\n"
            "t.conf:1: invalid value for ramsafe.port: \"0\" (expected an integer from 1 to "
            "65535)");
}

TEST(LoadSettingsTest, PicksUpTheServersOwnSettings) {
  Settings settings = load(
      "data_directory = '/var/lib/postgresql/15/main'\n"
      "port = 5433\n"
      "unix_socket_directories = '/var/run/postgresql, /tmp'\n");
  EXPECT_EQ(settings.data_directory, "/var/lib/postgresql/15/main");
  EXPECT_EQ(settings.port, 5433);
  EXPECT_EQ(settings.host, "/var/run/postgresql");
  EXPECT_EQ(settings.origin.at("ramsafe.data_directory"), "t.conf:1");
  EXPECT_EQ(settings.origin.at("ramsafe.port"), "t.conf:2");
  EXPECT_EQ(settings.origin.at("ramsafe.host"), "t.conf:3");
}

TEST(LoadSettingsTest, RamsafeSettingsWinOverTheServers) {
  Settings settings = load(
      "ramsafe.port = 6000\n"
      "ramsafe.host = ''\n"
      "ramsafe.data_directory = '/srv/pg'\n"
      "port = 5433\n"
      "unix_socket_directories = '/tmp'\n"
      "data_directory = 'relative/is/not/checked/when/overridden'\n");
  EXPECT_EQ(settings.port, 6000);
  EXPECT_EQ(settings.host, "");
  EXPECT_EQ(settings.data_directory, "/srv/pg");
  EXPECT_EQ(settings.origin.at("ramsafe.port"), "t.conf:1");
  EXPECT_EQ(settings.origin.at("ramsafe.host"), "t.conf:2");
}

TEST(LoadSettingsTest, FirstSocketDirectoryFollowsPostgresqlListSyntax) {
  struct Case {
    const char* value;
    const char* host;
  };
  const Case cases[] = {
      {"'/var/run/postgresql'", "/var/run/postgresql"},
      {"'  /a  ,/b'", "/a"},
      {"'\"/dir, with comma\", /tmp'", "/dir, with comma"},
      {"'\"/say \"\"hi\"\"\"'", "/say \"hi\""},
      {"'@abstract'", "@abstract"},
      {"''", ""},
      {"', /tmp'", ""},
  };
  for (const auto& c : cases) {
    Settings settings = load(std::string("unix_socket_directories = ") + c.value + "\n");
    EXPECT_EQ(settings.host, c.host) << c.value;
    EXPECT_EQ(settings.origin.at("ramsafe.host"), *c.host == '\0' ? "default" : "t.conf:1")
        << c.value;
  }
}

TEST(LoadSettingsTest, BadServerValuesNameTheServerSetting) {
  EXPECT_EQ(config_error([] { load("\nport = 'abc'\n"); }),
            "t.conf:2: invalid value for port: \"abc\" (expected an integer from 1 to 65535)");
  EXPECT_EQ(config_error([] { load("data_directory = 'main'\n"); }),
            "t.conf:1: invalid value for data_directory: \"main\" (expected an absolute path)");
}

TEST(LoadSettingsTest, RecipientsAndPassphraseAreExclusive) {
  EXPECT_EQ(config_error([] {
              load(
                  "ramsafe.recipients_file = '/etc/ramsafe/recipients'\n"
                  "ramsafe.passphrase_file = '/etc/ramsafe/passphrase'\n");
            }),
            "ramsafe.recipients_file (t.conf:1) and ramsafe.passphrase_file (t.conf:2) are both "
            "set: set only one, as a passphrase must be a backup's only age recipient");
  Settings settings = load(
      "ramsafe.recipients_file = '/etc/ramsafe/recipients'\n"
      "ramsafe.passphrase_file = ''\n");
  EXPECT_EQ(settings.recipients_file, "/etc/ramsafe/recipients");
}

TEST(LoadSettingsTest, OriginNamesTheFileThatSetEachValue) {
  test::ScratchDir dir;
  std::string ramsafe_conf = dir.write("conf.d/ramsafe.conf",
                                       "# ramsafe\n"
                                       "ramsafe.local_dir = '/var/backups/ramsafe'\n"
                                       "ramsafe.compression_level = 9\n");
  std::string main = dir.write("postgresql.conf",
                               "port = 5433\n"
                               "ramsafe.compression_level = 5\n"
                               "include_dir 'conf.d'\n");
  Settings settings = load_settings_file(main);
  EXPECT_EQ(settings.local_dir, "/var/backups/ramsafe");
  EXPECT_EQ(settings.compression_level, 9);
  EXPECT_EQ(settings.port, 5433);
  EXPECT_EQ(settings.origin.at("ramsafe.local_dir"), ramsafe_conf + ":2");
  EXPECT_EQ(settings.origin.at("ramsafe.compression_level"), ramsafe_conf + ":3");
  EXPECT_EQ(settings.origin.at("ramsafe.port"), main + ":1");
  EXPECT_EQ(settings.origin.at("ramsafe.user"), "default");
}

TEST(LoadSettingsTest, LoadSettingsFileReportsSyntaxErrors) {
  test::ScratchDir dir;
  std::string main = dir.write("ramsafe.conf", "ramsafe.local_dir = /var/backups\n");
  EXPECT_EQ(config_error([&] { load_settings_file(main); }), main + ":1: syntax error near \"/\"");
}

// ---------------------------------------------------------------------------------------
// check_settings: every problem collected (for `ramsafe check`), nothing thrown

TEST(CheckSettingsTest, CollectsEveryProblemWithItsKindAndPlace) {
  CheckedSettings checked =
      check_settings(config::parse_text("ramsafe.compresion_level = 9\n"
                                        "ramsafe.schedule = '61 * * * *'\n"
                                        "ramsafe.local_dir = '/var/backups/ramsafe'\n"
                                        "ramsafe.recipients_file = '/etc/r.txt'\n"
                                        "ramsafe.passphrase_file = '/etc/p'\n",
                                        "t.conf", "/nowhere"));
  ASSERT_EQ(checked.problems.size(), 3u);
  EXPECT_EQ(checked.problems[0].kind, SettingProblem::Kind::kUnknownName);
  EXPECT_EQ(checked.problems[0].setting, "ramsafe.compresion_level");
  EXPECT_EQ(checked.problems[0].where, "t.conf:1");
  EXPECT_EQ(checked.problems[0].message,
            "unrecognized setting ramsafe.compresion_level at t.conf:1 (did you mean "
            "ramsafe.compression_level?)");
  EXPECT_EQ(checked.problems[1].kind, SettingProblem::Kind::kInvalidValue);
  EXPECT_EQ(checked.problems[1].setting, "ramsafe.schedule");
  EXPECT_EQ(checked.problems[1].where, "t.conf:2");
  EXPECT_EQ(checked.problems[1].message,
            "t.conf:2: invalid value for ramsafe.schedule: \"61 * * * *\" (minute 61 is out of "
            "range 0-59)");
  EXPECT_EQ(checked.problems[2].kind, SettingProblem::Kind::kConflict);
  EXPECT_EQ(checked.problems[2].setting, "ramsafe.recipients_file");
  // The valid values are there; the invalid one left its default, as the server does.
  EXPECT_EQ(checked.settings.local_dir, "/var/backups/ramsafe");
  EXPECT_EQ(checked.settings.schedule, "0 * * * *");
  EXPECT_EQ(checked.settings.origin.at("ramsafe.schedule"), "default");
}

TEST(CheckSettingsTest, LoadSettingsThrowsTheSameLines) {
  const std::string text = "ramsafe.shedule = '@daily'\nramsafe.port = 70000\n";
  CheckedSettings checked = check_settings(config::parse_text(text, "t.conf", "/nowhere"));
  std::string lines;
  for (const auto& p : checked.problems) lines += (lines.empty() ? "" : "\n") + p.message;
  EXPECT_EQ(config_error([&] { load(text); }), lines);
  EXPECT_TRUE(check_settings(config::parse_text("", "t.conf", "/nowhere")).problems.empty());
}

// ---------------------------------------------------------------------------------------
// load_boot_settings: restore and wal-fetch fail only for what they read

Settings load_boot(const std::string& text, std::vector<std::string>* warnings) {
  return load_boot_settings(config::parse_text(text, "t.conf", "/nowhere"), warnings);
}

TEST(LoadBootSettingsTest, UnknownNamesAreWarnings) {
  std::vector<std::string> warnings;
  Settings settings =
      load_boot("ramsafe.compresion_level = 9\nramsafe.local_dir = '/b'\n", &warnings);
  EXPECT_EQ(settings.local_dir, "/b");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "unrecognized setting ramsafe.compresion_level at t.conf:1 (did you mean "
            "ramsafe.compression_level?); ignored, as the server ignores it");
}

TEST(LoadBootSettingsTest, BadValuesOfSettingsARestoreDoesNotReadAreWarnings) {
  std::vector<std::string> warnings;
  Settings settings = load_boot(
      "ramsafe.schedule = '61 * * * *'\n"
      "ramsafe.compression_level = 42\n"
      "ramsafe.local_retention = 'dayly=7'\n"
      "ramsafe.local_base_retention = 'last=two'\n"
      "ramsafe.recipients_file = '/r'\n"
      "ramsafe.passphrase_file = '/p'\n"
      "ramsafe.local_dir = '/b'\n",
      &warnings);
  ASSERT_EQ(warnings.size(), 5u);
  EXPECT_EQ(warnings[0],
            "t.conf:2: invalid value for ramsafe.compression_level: \"42\" (expected an integer "
            "from 1 to 19); ignored: a restore does not need it");
  EXPECT_NE(warnings[1].find("ramsafe.schedule"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[2].find("ramsafe.local_retention"), std::string::npos) << warnings[2];
  EXPECT_NE(warnings[3].find("ramsafe.local_base_retention"), std::string::npos) << warnings[3];
  EXPECT_NE(warnings[4].find("are both set"), std::string::npos) << warnings[4];
  EXPECT_NE(warnings[4].find("ignored: only backups encrypt"), std::string::npos) << warnings[4];
  EXPECT_EQ(settings.local_dir, "/b");
  EXPECT_EQ(settings.passphrase_file, "/p");  // restore decrypts with it
  EXPECT_EQ(settings.schedule, "0 * * * *");
  EXPECT_EQ(settings.compression_level, 3);
}

TEST(LoadBootSettingsTest, BadValuesOfSettingsARestoreReadsAreErrors) {
  for (const char* line : {"ramsafe.local_dir = 'relative'", "ramsafe.cluster_name = 'a/b'",
                           "ramsafe.identity_file = 'id.txt'", "ramsafe.on_missing = maybe",
                           "ramsafe.data_directory = 'data'", "ramsafe.restore_jobs = -1",
                           "ramsafe.drive_api_url = 'http://x'", "ramsafe.bindir = 'bin'",
                           "data_directory = 'data'"}) {
    SCOPED_TRACE(line);
    std::vector<std::string> warnings;
    std::string text = std::string("ramsafe.compresion_level = 9\n") + line + "\n";
    std::string message = config_error([&] { load_boot(text, &warnings); });
    EXPECT_NE(message.find("t.conf:2: invalid value for "), std::string::npos) << message;
    // Only the error: the unknown name stays a warning.
    EXPECT_EQ(message.find("compresion_level"), std::string::npos) << message;
  }
}

TEST(LoadBootSettingsTest, EverySettingIsReadAtBootUnlessListed) {
  // A new setting counts as read by restore until someone decides otherwise: a bad value
  // then fails the boot path loudly instead of restoring with a default.
  std::set<std::string> not_read;
  for (const SettingDef& def : setting_defs())
    if (!def.read_at_boot) not_read.insert(def.name);
  EXPECT_EQ(not_read, (std::set<std::string>{
                          "ramsafe.recipients_file", "ramsafe.compression_level", "ramsafe.host",
                          "ramsafe.port", "ramsafe.passfile", "ramsafe.schedule",
                          "ramsafe.timezone", "ramsafe.max_rate", "ramsafe.ram_warn_percent",
                          "ramsafe.local_retention", "ramsafe.drive_retention",
                          "ramsafe.local_base_retention", "ramsafe.drive_base_retention",
                          "ramsafe.drive_chunk_kb", "ramsafe.base_backup_schedule",
                          "ramsafe.wal_backlog_limit", "ramsafe.wal_backlog_policy"}));
}

TEST(LoadSettingsTest, BaseBackupRetentionHasItsOwnSettings) {
  Settings defaults = load("");
  EXPECT_EQ(defaults.local_base_retention, "last=2 daily=7");
  EXPECT_EQ(defaults.drive_base_retention, "last=2 daily=7");
  Settings set =
      load("ramsafe.local_base_retention = 'last=1'\nramsafe.drive_base_retention = 'weekly=4'\n");
  EXPECT_EQ(set.local_base_retention, "last=1");
  EXPECT_EQ(set.drive_base_retention, "weekly=4");
  EXPECT_EQ(config_error([] { load("ramsafe.drive_base_retention = 'dayly=7'\n"); }),
            "t.conf:1: invalid value for ramsafe.drive_base_retention: \"dayly=7\" (unknown rule "
            "\"dayly\" in \"dayly=7\" (expected last, hourly, daily, weekly, monthly or yearly))");
}

}  // namespace
}  // namespace ramsafe
