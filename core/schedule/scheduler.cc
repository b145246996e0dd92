#include "core/schedule/scheduler.h"

#include <algorithm>
#include <utility>

namespace ramsafe {

Scheduler::Scheduler(std::optional<CronSchedule> schedule, TimeZone zone)
    : schedule_(std::move(schedule)), zone_(std::move(zone)) {}

void Scheduler::compute_next(int64_t now) {
  next_ = schedule_ ? schedule_->next_after(now, zone_).value_or(0) : 0;
}

void Scheduler::start(int64_t now, std::optional<int64_t> newest_backup) {
  last_seen_ = now;
  compute_next(now);
  had_backup_ = newest_backup.has_value();
  catch_up_ = schedule_ && (!newest_backup || schedule_->missed_since(*newest_backup, now, zone_));
}

void Scheduler::reconfigure(std::optional<CronSchedule> schedule, TimeZone zone, int64_t now) {
  schedule_ = std::move(schedule);
  zone_ = std::move(zone);
  last_seen_ = now;
  compute_next(now);
  if (!schedule_) catch_up_ = false;
}

bool Scheduler::due(int64_t now) {
  if (now < last_seen_) compute_next(now);  // the clock went back
  last_seen_ = now;
  if (!schedule_) return false;
  return catch_up_ || (next_ != 0 && now >= next_);
}

void Scheduler::ran(int64_t now) {
  catch_up_ = false;
  last_seen_ = std::max(last_seen_, now);
  compute_next(now);
}

long Scheduler::wait_ms(int64_t now, long max_ms) const {
  if (catch_up_ && schedule_) return 100;
  if (next_ == 0) return max_ms;
  int64_t seconds = next_ - now;
  return static_cast<long>(std::clamp<int64_t>(seconds * 1000, 100, max_ms));
}

}  // namespace ramsafe
