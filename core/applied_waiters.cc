#include "core/applied_waiters.h"

#include <pthread.h>

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace factlog::core {

AppliedWaiters::AppliedWaiters(uint64_t applied) : applied_(applied) {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "factlog-waiters");
}

AppliedWaiters::~AppliedWaiters() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  thread_.join();
}

void AppliedWaiters::Advance(uint64_t position) {
  absl::MutexLock lock(&mu_);
  if (position > applied_) applied_ = position;
}

uint64_t AppliedWaiters::applied() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

void AppliedWaiters::Stop(std::string why) {
  absl::MutexLock lock(&mu_);
  if (stopped_.empty()) stopped_ = std::move(why);
}

void AppliedWaiters::Wait(uint64_t position, absl::Time deadline,
                          Callback done) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  waiters_.emplace(id, Waiter{position, deadline, std::move(done)});
  by_position_.emplace(position, id);
  by_deadline_.emplace(deadline, id);
}

void AppliedWaiters::Run() {
  for (;;) {
    std::vector<std::pair<Callback, absl::Status>> due;
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      // Wakes for a new waiter, an advance, a stop, or the next deadline.
      const uint64_t seen_applied = applied_;
      const uint64_t seen_next = next_id_;
      const bool seen_stopped = !stopped_.empty();
      auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return shutting_down_ || applied_ != seen_applied ||
               next_id_ != seen_next || stopped_.empty() != !seen_stopped;
      };
      const absl::Time next_deadline = by_deadline_.empty()
                                           ? absl::InfiniteFuture()
                                           : by_deadline_.begin()->first;
      // Nothing to do until something changes: no waiter, or none applied
      // yet and no stop to answer them with. (A stop that came while the
      // last round's callbacks ran is not a change from here on.)
      if (!shutting_down_ &&
          (waiters_.empty() ||
           (stopped_.empty() && by_position_.begin()->first > applied_))) {
        mu_.AwaitWithDeadline(absl::Condition(&changed), next_deadline);
      }
      const absl::Time now = absl::Now();
      auto take = [&](uint64_t id,
                      absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        auto it = waiters_.find(id);
        if (it == waiters_.end()) return;
        due.emplace_back(std::move(it->second.done), std::move(status));
        waiters_.erase(it);
      };
      while (!by_position_.empty() && by_position_.begin()->first <= applied_) {
        take(by_position_.begin()->second, absl::OkStatus());
        by_position_.erase(by_position_.begin());
      }
      const std::string why =
          shutting_down_ ? std::string("shutting down") : stopped_;
      for (auto it = by_deadline_.begin(); it != by_deadline_.end();) {
        if (!why.empty()) {
          take(it->second, absl::UnavailableError(why));
        } else if (it->first <= now) {
          const auto found = waiters_.find(it->second);
          if (found != waiters_.end()) {
            take(it->second,
                 absl::DeadlineExceededError(absl::StrFormat(
                     "this node has applied the log up to position %d, not "
                     "yet %d, within the deadline",
                     applied_, found->second.position)));
          }
        } else {
          break;
        }
        it = by_deadline_.erase(it);
      }
      if (waiters_.empty()) by_position_.clear();
      last = shutting_down_;
    }
    for (auto& [done, status] : due) done(std::move(status));
    if (last) return;
  }
}

}  // namespace factlog::core
