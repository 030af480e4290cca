#include "core/position_waiters.h"

#include <pthread.h>

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace factlog::core {

PositionWaiters::PositionWaiters(PositionWaitersOptions options)
    : source_(std::move(options.source)),
      position_(options.position),
      pool_(options.callback_threads, options.callback_thread_name) {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "factlog-waits");
}

PositionWaiters::~PositionWaiters() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  thread_.join();
  // pool_'s destructor then runs what the thread handed it, and joins.
}

void PositionWaiters::Advance(uint64_t position) {
  absl::MutexLock lock(&mu_);
  if (position <= position_) return;
  position_ = position;
  if (!by_position_.empty() && by_position_.begin()->first <= position) {
    woken_ = true;
  }
}

uint64_t PositionWaiters::position() const {
  absl::MutexLock lock(&mu_);
  return position_;
}

void PositionWaiters::Stop(std::string why) {
  absl::MutexLock lock(&mu_);
  if (!stopped_.empty()) return;
  stopped_ = why.empty() ? std::string("stopped") : std::move(why);
  woken_ = true;
}

void PositionWaiters::Wait(uint64_t position, absl::Time deadline,
                           Callback done) {
  absl::Status known;
  {
    absl::MutexLock lock(&mu_);
    if (position <= position_) {
      known = absl::OkStatus();
    } else if (shutting_down_ || !stopped_.empty()) {
      known =
          absl::UnavailableError(shutting_down_ ? "shutting down" : stopped_);
    } else {
      const uint64_t id = next_id_++;
      auto by_position = by_position_.emplace(position, id);
      // The thread sleeps until the earliest deadline: a new earliest
      // one must wake it to sleep less.
      if (by_deadline_.empty() || deadline < by_deadline_.begin()->first) {
        woken_ = true;
      }
      auto by_deadline = by_deadline_.emplace(deadline, id);
      waiters_.emplace(
          id, Waiter{position, std::move(done), by_position, by_deadline});
      return;
    }
  }
  Hand(std::move(done), std::move(known));
}

size_t PositionWaiters::Waiting() const {
  absl::MutexLock lock(&mu_);
  return waiters_.size();
}

PositionWaiters::Callback PositionWaiters::Take(uint64_t id) {
  auto it = waiters_.find(id);
  Callback done = std::move(it->second.done);
  by_position_.erase(it->second.by_position);
  by_deadline_.erase(it->second.by_deadline);
  waiters_.erase(it);
  return done;
}

void PositionWaiters::Hand(Callback done, absl::Status status) {
  pool_.Run([done = std::move(done), status = std::move(status)]() mutable {
    done(std::move(status));
  });
}

void PositionWaiters::Run() {
  for (;;) {
    std::vector<std::pair<Callback, absl::Status>> due;
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return woken_ || shutting_down_;
      };
      const absl::Time earliest = by_deadline_.empty()
                                      ? absl::InfiniteFuture()
                                      : by_deadline_.begin()->first;
      mu_.AwaitWithDeadline(absl::Condition(&woken), earliest);
      woken_ = false;
      // Reached: the lowest positions first, O(log n) each.
      while (!by_position_.empty() &&
             by_position_.begin()->first <= position_) {
        due.emplace_back(Take(by_position_.begin()->second), absl::OkStatus());
      }
      last = shutting_down_;
      const std::string why = last ? std::string("shutting down") : stopped_;
      const absl::Time now = absl::Now();
      // Stopped: every one left; else the expired, the earliest first.
      while (!by_deadline_.empty() &&
             (!why.empty() || by_deadline_.begin()->first <= now)) {
        const uint64_t id = by_deadline_.begin()->second;
        absl::Status status =
            !why.empty()
                ? absl::UnavailableError(why)
                : absl::DeadlineExceededError(absl::StrFormat(
                      "%s up to position %d, not yet %d, within the deadline",
                      source_, position_, waiters_.at(id).position));
        due.emplace_back(Take(id), std::move(status));
      }
    }
    for (auto& [done, status] : due) Hand(std::move(done), std::move(status));
    if (last) return;
  }
}

}  // namespace factlog::core
