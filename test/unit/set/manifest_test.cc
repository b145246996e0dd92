#include "core/set/manifest.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ramsafe {
namespace {

Manifest sample() {
  Manifest m;
  m.backup_id = "20261122T031500Z";
  m.cluster = "main";
  m.started_at = "2026-11-22T03:15:00.000Z";
  m.finished_at = "2026-11-22T03:15:04.250Z";
  m.server_version = "15.18";
  m.server_version_num = 150018;
  m.pg_dump_version = "pg_dump (PostgreSQL) 15.18";
  m.system_identifier = "7312345678901234567";
  m.ramsafe_version = "0.1.0";
  m.shared_preload_libraries = "ramsafe,pg_stat_statements";
  m.initdb = {"UTF8", "C.UTF-8", "C.UTF-8", "libc", "", true, "postgres"};
  ManifestFile g{"globals.sql.zst.age", "globals", "", 100,      80,
                 std::string(64, 'a'),  "zstd",    3,  "age-v1", {"x25519:0123456789abcdef"}};
  ManifestFile d{"db/app.dump.zst.age", "database", "app", 5000,     1200,
                 std::string(64, 'b'),  "zstd",     3,     "age-v1", {"x25519:0123456789abcdef"}};
  m.files = {g, d};
  return m;
}

TEST(Manifest, RoundTrips) {
  Manifest m = sample();
  Manifest back = Manifest::parse(m.to_json(), "test");
  EXPECT_EQ(back.to_json(), m.to_json());
  EXPECT_EQ(back.backup_id, "20261122T031500Z");
  EXPECT_TRUE(back.initdb.data_checksums);
  EXPECT_EQ(back.shared_preload_libraries, "ramsafe,pg_stat_statements");
  EXPECT_EQ(back.databases(), std::vector<std::string>{"app"});
  EXPECT_EQ(back.stored_bytes(), 1280u);
  EXPECT_EQ(back.plaintext_bytes(), 5100u);
  ASSERT_NE(back.find_file("db/app.dump.zst.age"), nullptr);
  EXPECT_EQ(back.find_file("db/app.dump.zst.age")->database, "app");
  EXPECT_EQ(back.find_file("nope"), nullptr);
}

TEST(Manifest, ExtensionsAndNewerLocaleFieldsRoundTripAndAreOptional) {
  Manifest m = sample();
  // A set written before these fields existed has none of them.
  std::string old_json = m.to_json();
  EXPECT_EQ(old_json.find("extensions"), std::string::npos);
  EXPECT_EQ(old_json.find("builtin_locale"), std::string::npos);
  Manifest old = Manifest::parse(old_json, "test");
  EXPECT_FALSE(old.files[1].extensions);
  EXPECT_EQ(old.initdb.builtin_locale, "");

  m.files[1].extensions = std::map<std::string, ExtensionVersion>{
      {"citext", {"1.6", "public"}}, {"plpgsql", {"1.0", "pg_catalog"}}};
  m.initdb.locale_provider = "builtin";
  m.initdb.builtin_locale = "C.UTF-8";
  Manifest back = Manifest::parse(m.to_json(), "test");
  ASSERT_TRUE(back.files[1].extensions);
  EXPECT_EQ(back.files[1].extensions->at("citext").version, "1.6");
  EXPECT_EQ(back.files[1].extensions->at("citext").schema, "public");
  EXPECT_EQ(back.files[1].extensions->size(), 2u);
  EXPECT_EQ(back.initdb.locale_provider, "builtin");
  EXPECT_EQ(back.initdb.builtin_locale, "C.UTF-8");
  EXPECT_EQ(back.to_json(), m.to_json());

  // Hostile shapes are refused, not trusted.
  m.files[1].extensions =
      std::map<std::string, ExtensionVersion>{{std::string(64, 'x'), {"1", "s"}}};
  EXPECT_THROW(Manifest::parse(m.to_json(), "test"), Error);
  m.files[1].extensions = std::map<std::string, ExtensionVersion>{{"x", {"", "s"}}};
  EXPECT_THROW(Manifest::parse(m.to_json(), "test"), Error);
}

TEST(Manifest, DetectsAnyEditThroughItsChecksum) {
  std::string json = sample().to_json();
  for (const char* from : {"\"app\"", "1200", "\"main\"", "true"}) {
    std::string edited = json;
    auto pos = edited.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    edited[pos + 1] = edited[pos + 1] == 'x' ? 'y' : 'x';
    try {
      Manifest::parse(edited, "edited");
      FAIL() << "edit of " << from << " not detected";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kCorrupt);
    }
  }
}

TEST(Manifest, RejectsGarbageTruncationAndNewerFormats) {
  std::string json = sample().to_json();
  EXPECT_THROW(Manifest::parse("", "x"), Error);
  EXPECT_THROW(Manifest::parse("[]", "x"), Error);
  EXPECT_THROW(Manifest::parse(json.substr(0, json.size() / 2), "x"), Error);
  Manifest future = sample();
  future.format_version = 99;
  try {
    Manifest::parse(future.to_json(), "future");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("format version 99"), std::string::npos) << e.what();
  }
}

TEST(Manifest, RejectsUnsafePaths) {
  for (const char* path : {"../etc/passwd", "/abs", "db/../../x", "", "a//b"}) {
    Manifest m = sample();
    m.files[0].path = path;
    EXPECT_THROW(Manifest::parse(m.to_json(), "x"), Error) << path;
  }
}

// Issue 14, attack 4: a manifest nested 200,000 arrays deep crashed `ramsafe list`,
// restore, the scheduler worker and ramsafe_status() (stack overflow).
TEST(Manifest, DeeplyNestedOrHugeManifestsAreCorruptNotACrash) {
  // With the two keys a reader looks at first, so that its checksum (a re-serialisation)
  // is where the recursion used to go.
  std::string deep = "{\"format\": \"ramsafe-backup\", \"manifest_sha256\": \"x\", \"x\": " +
                     std::string(200000, '[') + std::string(200000, ']') + "}";
  try {
    Manifest::parse(deep, "store/20261122T031500Z/manifest.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kCorrupt);
    EXPECT_STREQ(e.what(),
                 "store/20261122T031500Z/manifest.json: manifest is nested deeper than 64 levels; "
                 "refusing to parse it");
  }
  std::string huge = sample().to_json();
  huge.insert(1, "\"padding\": \"" + std::string(kManifestMaxBytes, 'x') + "\",");
  EXPECT_THROW(Manifest::parse(huge, "x"), Error);
}

TEST(Manifest, ConfigFilesAreDeclared) {
  Manifest m = sample();
  ManifestFile c = m.files[0];
  c.path = "config.tar.zst.age";
  c.role = "config";
  c.config_files = std::vector<std::string>{"postgresql.auto.conf", "conf.d/extra.conf"};
  m.files.push_back(c);
  Manifest back = Manifest::parse(m.to_json(), "test");
  EXPECT_EQ(back.to_json(), m.to_json());
  ASSERT_TRUE(back.files[2].config_files.has_value());
  EXPECT_EQ(*back.files[2].config_files, *c.config_files);
  EXPECT_FALSE(back.files[0].config_files.has_value()) << "absent stays absent";
  EXPECT_EQ(m.to_json().find("config_files"), m.to_json().rfind("config_files"));
  for (const char* bad : {"recovery.signal", "standby.signal", "global/pg_control", "base/1/1259",
                          "pg_wal/000000010000000000000001", "../postgresql.conf", "PG_VERSION"}) {
    Manifest forged = m;
    forged.files[2].config_files->push_back(bad);
    EXPECT_THROW(Manifest::parse(forged.to_json(), "x"), Error) << bad;
  }
}

TEST(Manifest, RestorableConfigNames) {
  for (const char* ok : {"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf",
                         "conf.d/a.conf", "pg_conf/x", "include.inc"})
    EXPECT_TRUE(is_restorable_config_name(ok)) << ok;
  for (const char* bad : {"recovery.signal",
                          "standby.signal",
                          "recovery.conf",
                          "postmaster.pid",
                          "postmaster.opts",
                          "backup_label",
                          "tablespace_map",
                          "PG_VERSION",
                          "global/pg_control",
                          "global",
                          "base/1/1259",
                          "pg_wal/x",
                          "pg_xact/0000",
                          "pg_tblspc/16384",
                          "pg_replslot/s/state",
                          ".ramsafe-restore/postgresql.conf",
                          "ramsafe_restore_report.json",
                          "/etc/passwd",
                          "../x.conf",
                          "a/../b.conf",
                          "",
                          "a\\..\\b"})
    EXPECT_FALSE(is_restorable_config_name(bad)) << bad;
}

TEST(Manifest, DatabaseFileNamesAreSafeAndDistinct) {
  EXPECT_EQ(database_file_name("app"), "app");
  EXPECT_EQ(database_file_name("my db"), "my%20db");
  EXPECT_EQ(database_file_name("a/b"), "a%2Fb");
  EXPECT_EQ(database_file_name(".hidden"), "%2Ehidden");
  EXPECT_EQ(database_file_name("v1.2"), "v1.2");
  EXPECT_EQ(database_file_name("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_NE(database_file_name("a%20b"), database_file_name("a b"));
}

TEST(Manifest, BackupIds) {
  EXPECT_EQ(backup_id_for(1795302300), "20261121T230500Z");
  EXPECT_TRUE(is_valid_backup_id("20261122T031500Z"));
  EXPECT_TRUE(is_valid_backup_id("20261122T031500Z-2"));
  EXPECT_FALSE(is_valid_backup_id("20261122T031500Z.partial"));
  EXPECT_FALSE(is_valid_backup_id("20261122031500Z"));
  EXPECT_FALSE(is_valid_backup_id("../20261122T031500Z"));
  EXPECT_FALSE(is_valid_backup_id("20261122T031500Z-"));
}

TEST(Manifest, Timestamps) {
  EXPECT_EQ(format_rfc3339_utc(1795302900123), "2026-11-21T23:15:00.123Z");
  EXPECT_EQ(parse_rfc3339_utc("2026-11-21T23:15:00.123Z"), 1795302900123);
  EXPECT_EQ(parse_rfc3339_utc("2026-11-21T23:15:00Z"), 1795302900000);
  EXPECT_FALSE(parse_rfc3339_utc("2026-11-21 23:15:00"));
  EXPECT_FALSE(parse_rfc3339_utc("2026-13-21T23:15:00Z"));
  EXPECT_FALSE(parse_rfc3339_utc("2026-11-21T23:15:00.12Z"));
  EXPECT_FALSE(parse_rfc3339_utc("2026-11-21T23:15:0xZ"));
  EXPECT_FALSE(parse_rfc3339_utc("2026-11-21T23:15:00.123"));
}

}  // namespace
}  // namespace ramsafe
