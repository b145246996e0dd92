#include "core/set/freshness.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/paths.h"
#include "core/io/unique_fd.h"

namespace ramsafe {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "ramsafe-state";
constexpr int kFormatVersion = 1;
constexpr size_t kMaxStateSize = 1 << 20;

int64_t millis_of(const std::string& rfc3339) {
  return parse_rfc3339_utc(rfc3339).value_or(0);
}

// The state file's directory's owner: root creating the file (e.g. `ramsafe list` run as
// root) must not leave one the database's OS user cannot update.
void give_to_directory_owner(int fd, const std::string& dir) {
  if (::geteuid() != 0) return;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) (void)::fchown(fd, st.st_uid, st.st_gid);
}

}  // namespace

SeenBackup seen_backup_of(const Manifest& manifest) {
  SeenBackup s;
  s.sequence = manifest.sequence;
  s.backup_id = manifest.backup_id;
  s.finished_at = manifest.finished_at;
  s.noted_at = format_rfc3339_utc(now_unix_millis());
  return s;
}

void FreshnessState::parse(const std::string& text) {
  clusters_.clear();
  auto bad = [this](const std::string& why) {
    return Error(Errc::kConfig, "the freshness state file " + path_ + " is damaged (" + why +
                                    "); move it away to start afresh (this host then forgets "
                                    "which backups it has seen)");
  };
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception&) {
    throw bad("not JSON");
  }
  if (!j.is_object() || j.value("format", "") != kFormat) throw bad("not a ramsafe state file");
  if (j.value("format_version", 0) != kFormatVersion) throw bad("unknown format version");
  const json& clusters = j.value("clusters", json::object());
  if (!clusters.is_object()) throw bad("\"clusters\" is not an object");
  for (const auto& [name, c] : clusters.items()) {
    if (!c.is_object() || !c.contains("sequence") || !c["sequence"].is_number_unsigned())
      throw bad("cluster \"" + name + "\" has no sequence");
    SeenBackup s;
    s.sequence = c["sequence"].get<uint64_t>();
    s.backup_id = c.value("backup_id", "");
    s.finished_at = c.value("finished_at", "");
    s.noted_at = c.value("noted_at", "");
    clusters_[name] = s;
  }
}

std::string FreshnessState::serialize() const {
  json clusters = json::object();
  for (const auto& [name, s] : clusters_)
    clusters[name] = {{"sequence", s.sequence},
                      {"backup_id", s.backup_id},
                      {"finished_at", s.finished_at},
                      {"noted_at", s.noted_at}};
  json j = {{"format", kFormat}, {"format_version", kFormatVersion}, {"clusters", clusters}};
  return j.dump(2) + "\n";
}

void FreshnessState::load() {
  clusters_.clear();
  if (path_.empty()) return;
  std::string text;
  try {
    text = read_file(path_, kMaxStateSize);
  } catch (const Error& e) {
    if (e.code() == Errc::kNotFound) return;
    throw Error(Errc::kConfig, "cannot read the freshness state file: " + std::string(e.what()));
  }
  parse(text);
}

std::optional<SeenBackup> FreshnessState::seen(const std::string& cluster) const {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return std::nullopt;
  return it->second;
}

int64_t FreshnessState::clock_floor_ms(const std::string& cluster) const {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return 0;
  return std::max(millis_of(it->second.finished_at), millis_of(it->second.noted_at));
}

bool FreshnessState::note(const std::string& cluster, const SeenBackup& backup,
                          std::string* problem) {
  auto keep_higher = [&] {
    auto it = clusters_.find(cluster);
    if (it != clusters_.end() && it->second.sequence >= backup.sequence) return false;
    clusters_[cluster] = backup;
    return true;
  };
  if (path_.empty()) {
    keep_higher();
    return true;
  }
  try {
    std::string lock_path = path_ + ".lock";
    UniqueFd lock = open_or_throw(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    give_to_directory_owner(lock.get(), parent_dir(path_));
    while (::flock(lock.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw_errno("lock " + lock_path);
    }
    std::map<std::string, SeenBackup> mine = clusters_;
    load();  // what another process may have written meanwhile
    for (const auto& [name, s] : mine) {
      auto it = clusters_.find(name);
      if (it == clusters_.end() || it->second.sequence < s.sequence) clusters_[name] = s;
    }
    if (!keep_higher()) return true;
    std::string tmp = path_ + ".tmp";
    std::string text = serialize();
    {
      UniqueFd fd = open_or_throw(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      give_to_directory_owner(fd.get(), parent_dir(path_));
      write_all(fd.get(), text.data(), text.size(), tmp);
      fsync_or_throw(fd.get(), tmp);
      fd.close_checked(tmp);
    }
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
      int saved = errno;
      ::unlink(tmp.c_str());
      throw_errno("rename " + tmp + " to " + path_, saved);
    }
    fsync_path(parent_dir(path_));
    return true;
  } catch (const Error& e) {
    keep_higher();
    if (problem) *problem = "cannot update the freshness state file " + path_ + ": " + e.what();
    return false;
  }
}

std::string rollback_problem(const std::optional<SeenBackup>& seen,
                             const std::optional<SeenBackup>& newest) {
  if (!seen || seen->sequence == 0) return "";
  if (newest && newest->sequence >= seen->sequence) return "";
  std::string have = newest ? "the newest trusted backup is " + newest->backup_id + " (sequence " +
                                  std::to_string(newest->sequence) + ", finished " +
                                  newest->finished_at + ")"
                            : "no trusted backup is left";
  return "ROLLBACK: " + have + ", but this host has already seen backup " + seen->backup_id +
         " (sequence " + std::to_string(seen->sequence) + ", finished " + seen->finished_at +
         "): newer backups were deleted, or an older copy of the store was put back";
}

}  // namespace ramsafe
