#include "core/health/health.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/io/stages.h"
#include "core/store/local_store.h"
#include "test/unit/signing_util.h"
#include "test/unit/test_util.h"

namespace ramsafe {
namespace {

TEST(HealthTimestamp, ParsesWhatToJsonbWritesInUtc) {
  EXPECT_EQ(parse_json_timestamp("2026-11-26T12:00:00+00:00"), 1795694400000);
  EXPECT_EQ(parse_json_timestamp("2026-11-26T12:00:00.123456+00:00"), 1795694400123);
  EXPECT_EQ(parse_json_timestamp("2026-11-26T12:00:00.5Z"), 1795694400500);
  EXPECT_EQ(parse_json_timestamp("2026-11-26T13:30:00+01:30"), 1795694400000);
  EXPECT_EQ(parse_json_timestamp("2026-11-26T10:00:00-02"), 1795694400000);
  EXPECT_EQ(parse_json_timestamp("infinity"), std::nullopt);
  EXPECT_EQ(parse_json_timestamp("2026-11-26 12:00:00+00:00"), std::nullopt);
  EXPECT_EQ(parse_json_timestamp("2026-02-30T12:00:00+00:00"), std::nullopt);
  EXPECT_EQ(parse_json_timestamp("2026-11-26T12:00:00.+00:00"), std::nullopt);
  EXPECT_EQ(parse_json_timestamp("2026-11-26T12:00:00+00:00x"), std::nullopt);
}

TEST(HealthConfig, CollectsEveryProblemAndKeepsWhatTheServerWouldUse) {
  test::ScratchDir dir;
  std::string conf = dir.write("ramsafe.conf", "ramsafe.local_dir = '" + dir.path() +
                                                   "/store'\n"
                                                   "ramsafe.compresion_level = 5\n"
                                                   "ramsafe.schedule = '61 * * * *'\n"
                                                   "ramsafe.ram_warn_percent = 70\n"
                                                   "ramsafe.port = 'abc'\n"
                                                   "work_mem = '4MB'\n");
  std::optional<Settings> settings;
  ConfigHealth h = check_config_file(conf, &settings);
  EXPECT_TRUE(h.read);
  ASSERT_EQ(h.problems.size(), 3u);
  std::map<std::string, ConfigProblem> by_setting;
  for (const auto& p : h.problems) by_setting[p.setting] = p;
  EXPECT_EQ(by_setting["ramsafe.compresion_level"].kind, "unknown_setting");
  EXPECT_EQ(by_setting["ramsafe.compresion_level"].message,
            "unrecognized setting ramsafe.compresion_level at " + conf +
                ":2 (did you mean ramsafe.compression_level?)");
  EXPECT_EQ(by_setting["ramsafe.schedule"].kind, "invalid_value");
  EXPECT_NE(by_setting["ramsafe.schedule"].message.find(conf + ":3: invalid value for "
                                                               "ramsafe.schedule"),
            std::string::npos);
  EXPECT_EQ(by_setting["ramsafe.port"].kind, "invalid_value");
  EXPECT_EQ(h.rejected_schedules, std::vector<std::string>{"ramsafe.schedule"});
  // The rest as the server takes it: the default schedule, the valid values.
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->schedule, "0 * * * *");
  EXPECT_EQ(settings->ram_warn_percent, 70);
  EXPECT_EQ(settings->local_dir, dir.path() + "/store");
}

TEST(HealthConfig, ConflictsAndUnreadableFiles) {
  test::ScratchDir dir;
  std::string conf =
      dir.write("c.conf", "ramsafe.recipients_file = '/r'\nramsafe.passphrase_file = '/p'\n");
  std::optional<Settings> settings;
  ConfigHealth h = check_config_file(conf, &settings);
  ASSERT_EQ(h.problems.size(), 1u);
  EXPECT_EQ(h.problems[0].kind, "invalid");
  EXPECT_NE(h.problems[0].message.find("are both set"), std::string::npos);
  EXPECT_FALSE(settings);

  ConfigHealth missing = check_config_file(dir.file("nope.conf"), &settings);
  EXPECT_FALSE(missing.read);
  EXPECT_FALSE(missing.permission_denied);
  EXPECT_NE(missing.error.find("No such file"), std::string::npos);

  std::string bad = dir.write("bad.conf", "ramsafe.local_dir = 'unterminated\n");
  ConfigHealth syntax = check_config_file(bad, &settings);
  EXPECT_FALSE(syntax.read);
  EXPECT_NE(syntax.error.find("syntax error"), std::string::npos);
}

Manifest manifest_for(const std::string& id, const std::string& finished, const std::string& kind,
                      const std::string& content) {
  Manifest m;
  m.backup_id = id;
  m.kind = kind;
  m.cluster = "main";
  m.started_at = finished;
  m.finished_at = finished;
  m.initdb = {"UTF8", "C", "C", "libc", "", false, "postgres"};
  if (kind == "physical") {
    PhysicalInfo p;
    p.start_lsn = "0/2000028";
    p.stop_lsn = "0/2000100";
    p.timeline = 1;
    p.start_wal_file = "000000010000000000000002";
    p.stop_wal_file = "000000010000000000000002";
    p.wal_segment_size = 16u << 20;
    m.physical = p;
  }
  ManifestFile f;
  f.path = "db/app.dump.zst.age";
  f.role = "database";
  f.database = "app";
  f.stored_bytes = content.size();
  f.sha256 = sha256_hex(content);
  f.compression = "zstd";
  f.encryption = "age-v1";
  m.files.push_back(f);
  return m;
}

const SetSigner& signer() {
  static const SetSigner s = test::make_signer();
  return s;
}

// The configuration line that makes the readers trust signer()'s sets.
std::string trust_line(test::ScratchDir& dir) {
  return "ramsafe.verify_keys_file = '" +
         dir.write("verify_keys.txt", signer().key.verify_key().encode() + "\n") + "'\n";
}

std::string publish(LocalStore& store, int64_t when, const std::string& finished,
                    const std::string& kind = "logical") {
  const std::string content = "stored bytes of " + finished;
  auto writer = store.begin_set(when, signer());
  UniqueFd fd = writer->create_file("db/app.dump.zst.age");
  write_all(fd.get(), content.data(), content.size(), "test");
  writer->close_file(fd, "db/app.dump.zst.age");
  Manifest m = manifest_for(writer->id(), finished, kind, content);
  writer->publish(m);
  return writer->id();
}

TEST(HealthGather, LocalStoreWithoutServer) {
  test::ScratchDir dir;
  LocalStore store(dir.file("store/main"), signer().trust);
  publish(store, 1795298700, "2026-11-21T22:05:01.000Z");
  std::string newest = publish(store, 1795302300, "2026-11-21T23:05:01.000Z");
  std::string damaged = publish(store, 1795305900, "2026-11-22T00:05:01.000Z");
  dir.write("store/main/" + damaged + "/manifest.json", "{ not json");
  std::string conf = dir.write("c.conf", "ramsafe.local_dir = '" + dir.file("store") +
                                             "'\nramsafe.data_directory = '" + dir.path() + "'\n" +
                                             trust_line(dir));
  HealthRequest request;
  request.config_path = conf;
  request.ask_server = false;
  request.now_ms = 1795306000000;
  std::vector<std::string> stages;
  request.stage = [&stages](const char* s) { stages.emplace_back(s); };
  HealthFacts f = gather_health(request);
  ASSERT_EQ(f.stores.size(), 1u);
  const StoreHealth& local = f.stores[0];
  EXPECT_TRUE(local.listed) << local.error;
  EXPECT_EQ(local.usable_sets, 2);
  EXPECT_EQ(local.unusable_sets, 1);
  EXPECT_EQ(local.newest_unusable.substr(0, damaged.size()), damaged);
  ASSERT_TRUE(local.newest);
  EXPECT_EQ(local.newest->id, newest);
  EXPECT_EQ(local.newest->finished_ms, 1795302301000);
  EXPECT_FALSE(local.newest_physical);
  EXPECT_TRUE(local.free_bytes);
  EXPECT_EQ(local.recoverable_to_ms, 1795302301000);
  EXPECT_FALSE(f.server.asked);
  EXPECT_TRUE(f.ram.measured);
  EXPECT_EQ(f.ram.source, "filesystem");
  EXPECT_EQ(f.cluster, "main");
  EXPECT_EQ(stages.front(), "reading the configuration");
  EXPECT_NE(std::find(stages.begin(), stages.end(), std::string("listing the local store")),
            stages.end());
}

TEST(HealthGather, NewestPhysicalAndKinds) {
  test::ScratchDir dir;
  LocalStore store(dir.file("store/main"), signer().trust);
  publish(store, 1795298700, "2026-11-21T22:05:01.000Z", "physical");
  publish(store, 1795302300, "2026-11-21T23:05:01.000Z");
  std::string conf =
      dir.write("c.conf", "ramsafe.local_dir = '" + dir.file("store") + "'\n" + trust_line(dir));
  HealthRequest request;
  request.config_path = conf;
  request.ask_server = false;
  HealthFacts f = gather_health(request);
  ASSERT_EQ(f.stores.size(), 1u);
  ASSERT_TRUE(f.stores[0].newest_physical);
  EXPECT_EQ(f.stores[0].newest_physical->kind, "physical");
  EXPECT_EQ(f.stores[0].newest->kind, "logical");
  EXPECT_EQ(f.newest()->id, f.stores[0].newest->id);
}

TEST(HealthGather, ARollbackAgainstWhatThisHostSawIsReported) {
  test::ScratchDir dir;
  LocalStore store(dir.file("store/main"), signer().trust);
  std::string id = publish(store, 1795302300, "2026-11-21T23:05:01.000Z");
  std::string conf =
      dir.write("c.conf", "ramsafe.local_dir = '" + dir.file("store") + "'\n" + trust_line(dir) +
                              "ramsafe.state_file = '" + dir.file("state.json") + "'\n");
  HealthRequest request;
  request.config_path = conf;
  request.ask_server = false;
  EXPECT_EQ(gather_health(request).rollback, "") << "nothing seen yet";
  // This host saw a later set (sequence 99) that the store no longer holds.
  dir.write(
      "state.json",
      R"({"format": "ramsafe-state", "format_version": 1, "clusters": {"main": )"
      R"({"sequence": 99, "backup_id": "20261122T031500Z", )"
      R"("finished_at": "2026-11-22T03:16:02.311Z", "noted_at": "2026-11-22T03:16:02.400Z"}}})");
  HealthFacts f = gather_health(request);
  EXPECT_NE(f.rollback.find("ROLLBACK"), std::string::npos) << f.rollback;
  EXPECT_NE(f.rollback.find("20261122T031500Z"), std::string::npos) << f.rollback;
  EXPECT_EQ(f.newest()->id, id);
}

TEST(HealthGather, NoStoreAndUnreadableConfig) {
  test::ScratchDir dir;
  std::string conf = dir.write("c.conf", "ramsafe.schedule = ''\n");
  HealthRequest request;
  request.config_path = conf;
  request.ask_server = false;
  HealthFacts f = gather_health(request);
  EXPECT_TRUE(f.stores.empty());
  EXPECT_TRUE(f.settings);
  request.config_path = dir.file("missing.conf");
  HealthFacts m = gather_health(request);
  EXPECT_FALSE(m.config.read);
  EXPECT_FALSE(m.settings);
  EXPECT_TRUE(m.stores.empty());
}

}  // namespace
}  // namespace ramsafe
