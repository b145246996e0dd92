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
