// When the server's worker takes a scheduled backup: the cron schedule's next time, a
// catch-up after start, and clock jumps, decided from wall-clock readings the caller
// passes in (so it is tested without a server or a real clock).
//
//  - At start, a catch-up is due when there is no backup at all, or when the schedule
//    would have fired since the newest backup finished (it fell while the server was down).
//  - A forward clock jump makes the overdue time due once; after the run, the next time
//    is computed from the new now, so there is never a burst of backups.
//  - A backward clock jump recomputes the next time from the new now, so the schedule
//    does not go quiet until the clock catches up.
//  - Scheduled times that pass while a backup runs are not queued.
#pragma once

#include <cstdint>
#include <optional>

#include "core/schedule/cron.h"
#include "core/schedule/timezone.h"

namespace ramsafe {

class Scheduler {
 public:
  // schedule nullopt: scheduled backups disabled (requested ones still run).
  Scheduler(std::optional<CronSchedule> schedule, TimeZone zone);

  // The worker (re)started at now; newest_backup: when the newest backup finished.
  void start(int64_t now, std::optional<int64_t> newest_backup);
  // New settings (SIGHUP): a pending catch-up stays pending.
  void reconfigure(std::optional<CronSchedule> schedule, TimeZone zone, int64_t now);
  // Whether a scheduled (or catch-up) backup is due at now.
  bool due(int64_t now);
  // A backup, scheduled or requested, finished at now.
  void ran(int64_t now);

  bool enabled() const { return schedule_.has_value(); }
  bool catch_up_pending() const { return catch_up_; }
  bool had_backup_at_start() const { return had_backup_; }
  // Unix seconds of the next scheduled time; 0 when disabled or never.
  int64_t next_run() const { return next_; }
  // How long to sleep from now before checking again, at most max_ms (at least 100 ms).
  long wait_ms(int64_t now, long max_ms) const;

 private:
  void compute_next(int64_t now);

  std::optional<CronSchedule> schedule_;
  TimeZone zone_;
  int64_t next_ = 0;
  int64_t last_seen_ = 0;
  bool catch_up_ = false;
  bool had_backup_ = false;
};

}  // namespace ramsafe
