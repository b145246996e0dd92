#include "core/backup/offline_snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/io/paths.h"
#include "core/io/process.h"
#include "core/io/stages.h"
#include "core/io/tar.h"
#include "core/io/unique_fd.h"
#include "core/pg/pg_tools.h"
#include "core/pg/wal_names.h"
#include "core/set/pipeline.h"
#include "core/set/trust.h"
#include "core/store/local_store.h"
#include "core/version.h"

namespace ramsafe {
namespace {

constexpr const char* kDataFile = "data.tar.zst.age";
constexpr size_t kCopyBuffer = size_t{256} * 1024;
constexpr size_t kControlDataMax = size_t{64} * 1024;
constexpr size_t kRestoreReportMax = size_t{1} << 20;
// The end of a shutdown checkpoint record lies within this many bytes of its start (the
// record plus a page header when it crosses a page).
constexpr uint64_t kCheckpointRecordSpan = 8192;

using Clock = std::chrono::steady_clock;

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// "t<digits>_<digits>" with an optional fork or segment suffix: a temporary relation.
bool is_temp_relation_file(const std::string& name) {
  if (name.size() < 4 || name[0] != 't') return false;
  size_t underscore = name.find('_');
  if (underscore == std::string::npos || !all_digits(name.substr(1, underscore - 1))) return false;
  size_t end = name.find_first_not_of("0123456789", underscore + 1);
  if (end == underscore + 1) return false;
  if (end == std::string::npos) return true;
  return name[end] == '_' || name[end] == '.';
}

uint64_t segment_number_or_max(const std::string& name, uint64_t segment_size) {
  if (!is_valid_wal_segment_size(segment_size)) return UINT64_MAX;
  return wal_segment_number(name, segment_size);
}

bool pid_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

// A small file of the data directory, read without following a symlink; nullopt if absent.
std::optional<std::string> read_small_at(int dirfd, const char* name, size_t max_bytes) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno(std::string("cannot open ") + name + " in the data directory");
  }
  std::string out(max_bytes, '\0');
  out.resize(read_full(fd.get(), out.data(), out.size(), name));
  return out;
}

// The postmaster.pid's pid if that process lives, else 0.
pid_t live_postmaster(int dirfd) {
  auto text = read_small_at(dirfd, "postmaster.pid", 4096);
  if (!text) return 0;
  std::string first = trim(text->substr(0, text->find('\n')));
  if (!all_digits(first) || first.size() > 9) return 0;
  auto pid = static_cast<pid_t>(std::stol(first));
  return pid_alive(pid) ? pid : 0;
}

ControlData read_control_data(const PgTools& tools, const std::string& pgdata,
                              const CancelCheck& cancel) {
  ProcessOptions options;
  options.argv = {tools.path("pg_controldata"), "-D", pgdata};
  options.env["LC_ALL"] = std::string("C");
  options.env["LANGUAGE"] = std::nullopt;
  options.pipe_stdout = true;
  ChildProcess child(options);
  StringSink out;
  pump_child(child, out, cancel, nullptr);
  if (out.data().size() > kControlDataMax)
    throw Error(Errc::kChildFailed, "pg_controldata printed more than expected");
  return parse_controldata(out.data());
}

// The server binaries' version: "15.18 (Debian 15.18-0+deb12u1)" and 150018.
std::pair<std::string, int> server_version_of(const PgTools& tools) {
  std::string line = tools.version_string("postgres");
  const std::string prefix = "postgres (PostgreSQL) ";
  std::string version = starts_with(line, prefix) ? line.substr(prefix.size()) : line;
  int major = major_from_version_string(line);
  int minor = 0;
  size_t dot = version.find('.');
  if (dot != std::string::npos) {
    size_t end = version.find_first_not_of("0123456789", dot + 1);
    std::string digits = version.substr(dot + 1, end == std::string::npos ? end : end - dot - 1);
    if (all_digits(digits) && digits.size() < 5) minor = std::stoi(digits);
  }
  return {version, major * 10000 + minor};
}

// Streams the data directory as a tar into out.
class DataDirectoryTar {
 public:
  DataDirectoryTar(Sink& out, const ControlData& control, const CancelCheck& cancel,
                   std::function<void(uint64_t files)> on_file)
      : out_(out),
        control_(control),
        cancel_(cancel),
        on_file_(std::move(on_file)),
        buffer_(kCopyBuffer) {}

  void run(int rootfd) {
    walk(rootfd, "");
    write_tar_end(out_);
  }
  uint64_t files() const { return files_; }

 private:
  void walk(int dirfd, const std::string& rel) {
    std::vector<std::string> names = list(dirfd, rel);
    bool in_pg_wal = rel == "pg_wal";
    bool in_status = rel == "pg_wal/archive_status";
    std::set<std::string> ready;
    if (in_pg_wal) ready = ready_segments(dirfd);
    for (const auto& name : names) {
      if (cancel_ && cancel_()) throw Error(Errc::kCancelled, "cancelled");
      std::string path = rel;
      if (!path.empty()) path += '/';
      path += name;
      struct stat st;
      if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        throw_errno("cannot stat " + path + " in the data directory");
      bool dir = S_ISDIR(st.st_mode);
      if (S_ISLNK(st.st_mode))
        throw Error(Errc::kConfig,
                    "the data directory holds a symbolic link, " + path +
                        (starts_with(path, "pg_tblspc/")
                             ? ": offline snapshots do not support tablespaces (as base-backup)"
                             : ": offline snapshots copy only the data directory itself "
                               "(pg_wal elsewhere or linked files are not supported)"));
      if (S_ISSOCK(st.st_mode)) continue;  // a socket directory inside the data directory
      if (!dir && !S_ISREG(st.st_mode))
        throw Error(Errc::kConfig, "the data directory holds " + path +
                                       ", which is neither a file nor a directory");
      SnapshotEntry what = SnapshotEntry::kInclude;
      if (in_pg_wal && !dir) {
        what = wal_entry_wanted(name, false, control_, ready) ? SnapshotEntry::kInclude
                                                              : SnapshotEntry::kSkip;
      } else if (in_status && !dir) {
        what = wal_entry_wanted(name, true, control_, ready_) ? SnapshotEntry::kInclude
                                                              : SnapshotEntry::kSkip;
      } else {
        what = classify_data_dir_entry(path, dir);
      }
      if (what == SnapshotEntry::kSkip) continue;
      if (dir) {
        write_tar_header(out_, path, '5', st.st_mode, 0, st.st_mtime);
        if (what == SnapshotEntry::kWithoutContents) continue;
        UniqueFd sub(
            ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.valid()) throw_errno("cannot open " + path + " in the data directory");
        if (in_pg_wal && name == "archive_status") ready_ = ready;
        walk(sub.get(), path);
      } else {
        copy_file(dirfd, name, path);
      }
    }
  }

  std::vector<std::string> list(int dirfd, const std::string& rel) {
    int copy = ::dup(dirfd);
    if (copy < 0) throw_errno("dup");
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(copy), ::closedir);
    if (!dir) {
      ::close(copy);
      throw_errno("cannot list " + (rel.empty() ? std::string("the data directory") : rel));
    }
    ::rewinddir(dir.get());
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(dir.get())) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
      errno = 0;
    }
    if (errno != 0) throw_errno("cannot list " + rel);
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::set<std::string> ready_segments(int pg_wal_fd) {
    std::set<std::string> out;
    UniqueFd fd(
        ::openat(pg_wal_fd, "archive_status", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return out;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd.release()), ::closedir);
    if (!dir) return out;
    while (struct dirent* e = ::readdir(dir.get())) {
      std::string n = e->d_name;
      const std::string suffix = ".ready";
      if (n.size() > suffix.size() &&
          n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        out.insert(n.substr(0, n.size() - suffix.size()));
    }
    return out;
  }

  void copy_file(int dirfd, const std::string& name, const std::string& path) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) throw_errno("cannot open " + path + " in the data directory");
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw_errno("cannot stat " + path);
    if (!S_ISREG(st.st_mode)) throw Error(Errc::kConfig, path + " is not a regular file");
    auto size = static_cast<uint64_t>(st.st_size);
    write_tar_header(out_, path, '0', st.st_mode, size, st.st_mtime);
    uint64_t left = size;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, buffer_.size()));
      size_t got = read_some(fd.get(), buffer_.data(), want, path);
      if (got == 0)
        throw Error(Errc::kBusy, path +
                                     " shrank while being copied: is a server running on the "
                                     "data directory?");
      out_.write(buffer_.data(), got);
      left -= got;
    }
    if (read_some(fd.get(), buffer_.data(), 1, path) != 0)
      throw Error(Errc::kBusy,
                  path + " grew while being copied: is a server running on the data directory?");
    write_tar_padding(out_, size);
    ++files_;
    if (on_file_) on_file_(files_);
  }

  Sink& out_;
  const ControlData& control_;
  CancelCheck cancel_;
  std::function<void(uint64_t)> on_file_;
  std::vector<uint8_t> buffer_;
  std::set<std::string> ready_;
  uint64_t files_ = 0;
};

// The newest trusted set by sequence number (what the store's cluster is now).
const SetEntry* newest_trusted(const std::vector<SetEntry>& sets) {
  const SetEntry* best = nullptr;
  for (const auto& s : sets)
    if (s.usable() && (!best || s.manifest->sequence > best->manifest->sequence)) best = &s;
  return best;
}

// The set the data directory was restored from, by the report `ramsafe restore` left in
// it (core/restore), if it says it restored one.
std::optional<std::string> restored_from(int rootfd) {
  std::optional<std::string> text;
  try {
    text = read_small_at(rootfd, "ramsafe_restore_report.json", kRestoreReportMax);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || j.value("outcome", "") != "restored") return std::nullopt;
  auto id = j.find("backup_id");
  if (id == j.end() || !id->is_string()) return std::nullopt;
  return id->get<std::string>();
}

std::string os_user_name() {
  struct passwd* pw = ::getpwuid(::geteuid());
  return pw && pw->pw_name ? pw->pw_name : "postgres";
}

}  // namespace

ControlData parse_controldata(const std::string& output) {
  std::map<std::string, std::string> fields;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t end = output.find('\n', pos);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(pos, end - pos);
    pos = end + 1;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields.emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  auto field = [&](const std::string& key) -> const std::string& {
    auto it = fields.find(key);
    if (it == fields.end() || it->second.empty())
      throw Error(Errc::kChildFailed, "pg_controldata printed no \"" + key + "\" line");
    return it->second;
  };
  auto bad = [](const std::string& key, const std::string& value) {
    return Error(Errc::kChildFailed,
                 "pg_controldata's \"" + key + "\" is malformed: \"" + value + "\"");
  };
  ControlData c;
  c.state = field("Database cluster state");
  c.system_identifier = field("Database system identifier");
  if (!all_digits(c.system_identifier) || c.system_identifier.size() > 20)
    throw bad("Database system identifier", c.system_identifier);
  c.checkpoint_lsn = field("Latest checkpoint location");
  c.redo_lsn = field("Latest checkpoint's REDO location");
  auto checkpoint = parse_lsn(c.checkpoint_lsn), redo = parse_lsn(c.redo_lsn);
  if (!checkpoint) throw bad("Latest checkpoint location", c.checkpoint_lsn);
  if (!redo || *redo > *checkpoint) throw bad("Latest checkpoint's REDO location", c.redo_lsn);
  const std::string& tli = field("Latest checkpoint's TimeLineID");
  if (!all_digits(tli) || tli.size() > 10 || std::stoull(tli) == 0 ||
      std::stoull(tli) > 0xFFFFFFFFull)
    throw bad("Latest checkpoint's TimeLineID", tli);
  c.timeline = static_cast<uint32_t>(std::stoull(tli));
  const std::string& segment = field("Bytes per WAL segment");
  if (!all_digits(segment) || segment.size() > 12 ||
      !is_valid_wal_segment_size(std::stoull(segment)))
    throw bad("Bytes per WAL segment", segment);
  c.wal_segment_size = std::stoull(segment);
  c.redo_wal_file = field("Latest checkpoint's REDO WAL file");
  if (c.redo_wal_file != wal_segment_file_name(c.timeline, *redo, c.wal_segment_size))
    throw bad("Latest checkpoint's REDO WAL file", c.redo_wal_file);
  const std::string& checksums = field("Data page checksum version");
  if (!all_digits(checksums)) throw bad("Data page checksum version", checksums);
  c.data_checksums = checksums != "0";
  return c;
}

bool is_clean_shutdown_state(const std::string& state) {
  return state == "shut down" || state == "shut down in recovery";
}

SnapshotEntry classify_data_dir_entry(const std::string& relative_path, bool is_directory) {
  std::string name = base_name(relative_path);
  bool top = relative_path.find('/') == std::string::npos;
  // Temporary files and directories of sorts and hashes, anywhere (basebackup.c).
  if (starts_with(name, "pgsql_tmp")) return SnapshotEntry::kSkip;
  if (top) {
    if (is_directory) {
      // Recreated (or reset) when the server starts: the contents are never read.
      static const char* const kWithoutContents[] = {"pg_stat_tmp", "pg_dynshmem",  "pg_notify",
                                                     "pg_serial",   "pg_snapshots", "pg_subtrans"};
      for (const char* d : kWithoutContents)
        if (name == d) return SnapshotEntry::kWithoutContents;
      // An unfinished restore's staging directory (core/restore) is not the cluster.
      if (name == ".ramsafe-restore") return SnapshotEntry::kSkip;
      return SnapshotEntry::kInclude;
    }
    // The running server's lock file (absent after a clean stop, stale after a crash),
    // and files a server writes under a temporary name before renaming them.
    if (name == "postmaster.pid" || name == "postgresql.auto.conf.tmp" ||
        name == "current_logfiles.tmp" || name == "backup_manifest.tmp")
      return SnapshotEntry::kSkip;
    return SnapshotEntry::kInclude;
  }
  if (is_directory) return SnapshotEntry::kInclude;
  // The relation cache's init files are rebuilt at start.
  if (name == "pg_internal.init") return SnapshotEntry::kSkip;
  // Temporary relations (t<backend>_<relfilenode>) in a database's directory die with
  // their sessions.
  if ((starts_with(relative_path, "base/") || starts_with(relative_path, "pg_tblspc/")) &&
      is_temp_relation_file(name))
    return SnapshotEntry::kSkip;
  return SnapshotEntry::kInclude;
}

bool wal_entry_wanted(const std::string& name, bool status, const ControlData& control,
                      const std::set<std::string>& ready_segments) {
  if (status) {
    const std::string suffix = ".ready";
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      return false;  // ".done": archived already; the copy needs no record of it
    return ready_segments.count(name.substr(0, name.size() - suffix.size())) > 0;
  }
  auto parsed = try_parse_wal_file_name(name);
  if (!parsed) return false;  // temporary files (xlogtemp.*) and anything unknown
  if (parsed->kind != WalFileKind::kSegment) return true;  // history, .partial, .backup
  if (ready_segments.count(name)) return true;
  auto redo = parse_lsn(control.redo_lsn), checkpoint = parse_lsn(control.checkpoint_lsn);
  if (!redo || !checkpoint) return true;  // cannot tell: keep it
  uint64_t size = control.wal_segment_size;
  uint64_t n = segment_number_or_max(name, size);
  // A standby resumes replay at its last restartpoint and must reach its minimum recovery
  // point, which may lie in any later segment it received: keep them all.
  if (control.state == "shut down in recovery") return n >= *redo / size;
  auto tl = static_cast<uint32_t>(std::stoul(parsed->timeline, nullptr, 16));
  if (tl != control.timeline) return false;
  return n >= *redo / size && n <= (*checkpoint + kCheckpointRecordSpan) / size;
}

OfflineSnapshotResult run_offline_snapshot(const OfflineSnapshotRequest& request) {
  auto started = Clock::now();
  int64_t started_ms = now_unix_millis();
  OfflineSnapshotProgress progress;
  auto report = [&](const std::string& phase) {
    progress.phase = phase;
    if (request.progress) request.progress(progress);
  };
  report("checking");
  const std::string& pgdata = request.data_directory;
  if (pgdata.empty() || pgdata[0] != '/')
    throw Error(Errc::kConfig, "the data directory must be an absolute path (got \"" + pgdata +
                                   "\"): set ramsafe.data_directory or pass --pgdata");
  if (request.settings.local_dir.empty())
    throw Error(Errc::kConfig,
                "ramsafe.local_dir is not set: an offline snapshot is written to the local store");
  UniqueFd root(::open(pgdata.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) throw_errno("cannot open the data directory " + pgdata);
  struct stat st;
  if (::fstat(root.get(), &st) != 0) throw_errno("cannot stat " + pgdata);
  if (st.st_uid != ::geteuid())
    throw Error(Errc::kPermission,
                pgdata + " is owned by uid " + std::to_string(st.st_uid) +
                    ", not by the user running ramsafe snapshot (uid " +
                    std::to_string(::geteuid()) +
                    "); run it as the data directory's OS user (e.g. runuser -u postgres -- "
                    "ramsafe snapshot ...)");
  auto version_text = read_small_at(root.get(), "PG_VERSION", 16);
  std::string pg_version =
      version_text ? trim(version_text->substr(0, version_text->find('\n'))) : std::string();
  if (!all_digits(pg_version) || pg_version.size() > 2)
    throw Error(Errc::kConfig,
                pgdata + " is not a PostgreSQL data directory (no valid PG_VERSION)");
  int major = std::stoi(pg_version);

  // The refusals first: before the signing key, the store and any tool's version.
  if (pid_t pid = live_postmaster(root.get()))
    throw SnapshotRefused(SnapshotRefused::Why::kServerRunning,
                          "a server is running on " + pgdata + " (postmaster.pid names pid " +
                              std::to_string(pid) +
                              ", which is alive); an offline snapshot needs the server stopped "
                              "cleanly (pg_ctl stop -m fast)");
  PgTools tools = find_pg_tools(request.settings.bindir, major);
  auto [server_version, server_version_num] = server_version_of(tools);
  if (server_version_num / 10000 != major)
    throw Error(Errc::kConfig, "the data directory is PostgreSQL " + pg_version + " but " +
                                   tools.bindir + " holds PostgreSQL " +
                                   std::to_string(server_version_num / 10000) +
                                   "; set ramsafe.bindir to the server's binaries");
  ControlData control = read_control_data(tools, pgdata, request.cancel);
  if (!is_clean_shutdown_state(control.state))
    throw SnapshotRefused(SnapshotRefused::Why::kNotShutDown,
                          "the cluster in " + pgdata +
                              " was not shut down cleanly (pg_controldata: "
                              "\"" +
                              control.state +
                              "\"); an offline snapshot of it would need crash recovery. After a "
                              "crash the boot restore brings back the last backup instead");

  SetSigner signer = set_signer_for(request.settings);
  LocalStore store(local_store_root(request.settings), signer.trust);
  UniqueFd lock = store.lock("take an offline snapshot");
  std::vector<SetEntry> sets = store.list_sets();
  const SetEntry* newest = newest_trusted(sets);
  // A logical restore makes a new cluster (initdb): its system identifier is new until the
  // next backup records it. Such a directory descends from this store's cluster when the
  // report of the restore that made it names a trusted logical set of this store.
  auto descends_from_store = [&]() {
    std::optional<std::string> from = restored_from(root.get());
    if (!from) return false;
    for (const auto& s : sets)
      if (s.usable() && s.id == *from && !s.manifest->is_physical() && !s.manifest->is_offline())
        return true;
    return false;
  };
  if (newest && newest->manifest->system_identifier != control.system_identifier &&
      !descends_from_store())
    throw SnapshotRefused(
        SnapshotRefused::Why::kOtherCluster,
        "the data directory " + pgdata + " belongs to the cluster with system identifier " +
            control.system_identifier + ", but the store " + store.root() +
            " holds backups of system identifier " + newest->manifest->system_identifier +
            " (newest: " + newest->id +
            "); check ramsafe.local_dir and ramsafe.cluster_name, or move the old backups away");
  store.cleanup_partials(0);
  auto writer = store.begin_set(started_ms / 1000, signer);
  progress.backup_id = writer->id();

  Manifest manifest;
  manifest.backup_id = writer->id();
  manifest.kind = "offline";
  manifest.cluster = cluster_name(request.settings);
  manifest.started_at = format_rfc3339_utc(started_ms);
  manifest.server_version = server_version;
  manifest.server_version_num = server_version_num;
  manifest.pg_dump_version = tools.version_string("pg_controldata");
  manifest.system_identifier = control.system_identifier;
  manifest.ramsafe_version = RAMSAFE_VERSION;
  // What only a running server can tell (the bootstrap superuser, template1's locale, the
  // preloaded libraries) comes from the store's newest set of this cluster: the restore's
  // WAL replay connects as that superuser and preloads those libraries.
  if (newest) {
    manifest.initdb = newest->manifest->initdb;
    manifest.shared_preload_libraries = newest->manifest->shared_preload_libraries;
  } else {
    manifest.initdb.bootstrap_superuser =
        request.settings.user.empty() ? os_user_name() : request.settings.user;
  }
  manifest.initdb.data_checksums = control.data_checksums;
  OfflineInfo info;
  info.checkpoint_lsn = control.checkpoint_lsn;
  info.redo_lsn = control.redo_lsn;
  info.timeline = control.timeline;
  info.redo_wal_file = control.redo_wal_file;
  info.wal_segment_size = control.wal_segment_size;
  info.pg_major = major;
  info.cluster_state = control.state;
  manifest.offline = info;

  report("copying");
  ManifestFile file;
  uint64_t files = 0;
  {
    UniqueFd fd = writer->create_file(kDataFile);
    std::string full = join_path(writer->partial_path(), kDataFile);
    EncryptChain chain(fd.get(), full, request.settings.compression_level, request.recipients,
                       request.zstd_workers);
    CallbackStage counted(chain, [&](size_t) {
      progress.bytes_read = chain.plaintext_bytes();
      progress.bytes_stored = chain.stored_bytes();
    });
    RateLimitStage limited(counted, uint64_t(request.settings.max_rate) * 1000000, request.cancel);
    DataDirectoryTar tar(limited, control, request.cancel, [&](uint64_t n) {
      progress.files = n;
      report("copying");
    });
    tar.run(root.get());
    limited.finish();
    files = tar.files();
    writer->close_file(fd, kDataFile);
    file.path = kDataFile;
    file.role = "data";
    chain.describe(file);
  }
  manifest.files.push_back(file);

  // Nothing may have started on the directory meanwhile: the copy is of one clean state.
  ControlData after = read_control_data(tools, pgdata, request.cancel);
  if (live_postmaster(root.get()) || after.state != control.state ||
      after.checkpoint_lsn != control.checkpoint_lsn)
    throw Error(Errc::kBusy, "a server started on " + pgdata +
                                 " while the snapshot was being taken (pg_controldata now says \"" +
                                 after.state + "\", checkpoint " + after.checkpoint_lsn +
                                 "); nothing was published");

  report("publishing");
  manifest.finished_at = format_rfc3339_utc(now_unix_millis());
  OfflineSnapshotResult result;
  result.path = writer->publish(manifest);
  if (!writer->warning().empty()) result.warnings.push_back(writer->warning());
  result.manifest = std::move(manifest);
  result.files = files;
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  report("done");
  return result;
}

}  // namespace ramsafe
