// core/position_waiters.h on its own: callbacks keyed on a position, answered
// when it is reached, at their deadline, or at a stop; exactly once, in
// position order, on the pool and never on the caller's thread, and never
// held up by another callback that blocks.
#include "core/position_waiters.h"

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace factlog {
namespace {

using core::PositionWaiters;
using core::PositionWaitersOptions;

// Every condition below is awaited this long at most; reaching it fails the
// test (nothing here is timed).
constexpr absl::Duration kPatience = absl::Seconds(30);

PositionWaitersOptions Options(uint64_t position, int threads) {
  PositionWaitersOptions options;
  options.position = position;
  options.source = "the test source";
  options.callback_threads = threads;
  return options;
}

// One callback's answer, and the thread it came on.
class Outcome {
 public:
  void Set(absl::Status status) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
    thread_ = std::this_thread::get_id();
    ++calls_;
  }
  // The status, once set (fails the test after kPatience).
  absl::Status Get() {
    absl::MutexLock lock(&mu_);
    auto done = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_ > 0; };
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&done), kPatience));
    return status_;
  }
  bool done() {
    absl::MutexLock lock(&mu_);
    return calls_ > 0;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::thread::id thread() {
    absl::MutexLock lock(&mu_);
    return thread_;
  }
  PositionWaiters::Callback Callback() {
    return [this](absl::Status s) { Set(std::move(s)); };
  }

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread::id thread_ ABSL_GUARDED_BY(mu_);
};

// Answers in the order they came, each with its status.
class Log {
 public:
  PositionWaiters::Callback Note(int id) {
    return [this, id](absl::Status s) {
      absl::MutexLock lock(&mu_);
      entries_.emplace_back(id, std::move(s));
    };
  }
  // The answers once there are `n` (fails the test after kPatience).
  std::vector<std::pair<int, absl::Status>> AwaitCount(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return entries_.size() >= n;
    };
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&enough), kPatience))
        << entries_.size() << " of " << n;
    return entries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<int, absl::Status>> entries_ ABSL_GUARDED_BY(mu_);
};

TEST(PositionWaitersTest, AnswersWhenReachedAtTheDeadlineOrWhenStopped) {
  PositionWaiters waiters(Options(5, 2));
  const absl::Time far = absl::Now() + absl::Seconds(60);
  Outcome reached_already, later, expires, stopped;
  waiters.Wait(5, far, reached_already.Callback());
  EXPECT_TRUE(reached_already.Get().ok());
  EXPECT_NE(reached_already.thread(), std::this_thread::get_id())
      << "never on the caller's thread";

  waiters.Wait(8, far, later.Callback());
  waiters.Wait(50, far, stopped.Callback());
  // Registered after one with a later deadline: the thread, asleep until
  // that one, must wake for it.
  waiters.Wait(100, absl::Now() + absl::Milliseconds(50), expires.Callback());
  const absl::Status expired = expires.Get();
  EXPECT_TRUE(absl::IsDeadlineExceeded(expired)) << expired;
  EXPECT_EQ(expired.message(),
            "the test source up to position 5, not yet 100, within the "
            "deadline");
  EXPECT_EQ(waiters.Waiting(), 2u);
  waiters.Advance(7);
  EXPECT_EQ(waiters.position(), 7u);
  waiters.Advance(9);
  EXPECT_TRUE(later.Get().ok());
  EXPECT_EQ(waiters.position(), 9u);
  waiters.Advance(3);
  EXPECT_EQ(waiters.position(), 9u) << "never moves back";

  waiters.Stop("forked log");
  const absl::Status why = stopped.Get();
  EXPECT_TRUE(absl::IsUnavailable(why)) << why;
  EXPECT_EQ(why.message(), "forked log");
  Outcome after_stop_reached, after_stop_not_reached;
  waiters.Wait(9, far, after_stop_reached.Callback());
  waiters.Wait(10, far, after_stop_not_reached.Callback());
  EXPECT_TRUE(after_stop_reached.Get().ok()) << "what was reached still is";
  EXPECT_EQ(after_stop_not_reached.Get().message(), "forked log");
  EXPECT_EQ(waiters.Waiting(), 0u);
  for (Outcome* o : {&reached_already, &later, &expires, &stopped}) {
    EXPECT_EQ(o->calls(), 1);
  }
}

TEST(PositionWaitersTest, WakesInPositionOrderThenInTheOrderRegistered) {
  // One callback thread: the pool runs them in the order handed over.
  PositionWaiters waiters(Options(0, 1));
  const absl::Time far = absl::Now() + absl::Seconds(60);
  Log log;
  // id = position * 10 + the how-many-th at that position.
  for (int id : {50, 30, 40, 31, 32, 1000, 20, 41}) {
    waiters.Wait(id / 10, far, log.Note(id));
  }
  waiters.Advance(5);
  const auto answered = log.AwaitCount(7);
  std::vector<int> order;
  for (const auto& [id, status] : answered) {
    EXPECT_TRUE(status.ok()) << id << ": " << status;
    order.push_back(id);
  }
  EXPECT_EQ(order, (std::vector<int>{20, 30, 31, 32, 40, 41, 50}));
  EXPECT_EQ(waiters.Waiting(), 1u) << "100 is not reached";
}

TEST(PositionWaitersTest, ManyWaitersAtOnePositionAreEachAnsweredOnce) {
  constexpr int kWaiters = 2000;
  PositionWaiters waiters(Options(0, 2));
  std::vector<std::atomic<int>> calls(kWaiters);
  std::atomic<int> answered{0};
  absl::Notification all;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.Wait(7, absl::Now() + absl::Seconds(60), [&, i](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      calls[i].fetch_add(1);
      if (answered.fetch_add(1) + 1 == kWaiters) all.Notify();
    });
  }
  waiters.Advance(6);
  EXPECT_EQ(waiters.Waiting(), static_cast<size_t>(kWaiters));
  waiters.Advance(7);
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(kPatience));
  EXPECT_EQ(waiters.Waiting(), 0u);
  for (int i = 0; i < kWaiters; ++i) EXPECT_EQ(calls[i].load(), 1) << i;
}

TEST(PositionWaitersTest, StopAnswersEveryPendingWaiterExactlyOnce) {
  constexpr int kWaiters = 500;
  std::vector<std::atomic<int>> ok(kWaiters), unavailable(kWaiters),
      other(kWaiters);
  std::atomic<int> answered{0};
  absl::Notification all;
  {
    PositionWaiters waiters(Options(0, 2));
    for (int i = 0; i < kWaiters; ++i) {
      waiters.Wait(
          i + 1, absl::Now() + absl::Seconds(60), [&, i](absl::Status s) {
            if (s.ok()) {
              ok[i].fetch_add(1);
            } else if (absl::IsUnavailable(s) && s.message() == "forked log") {
              unavailable[i].fetch_add(1);
            } else {
              other[i].fetch_add(1);
            }
            if (answered.fetch_add(1) + 1 == kWaiters) all.Notify();
          });
    }
    // The source advances on another thread while the stop comes: each
    // waiter is answered once, OK or UNAVAILABLE, whichever came first.
    std::thread source([&] {
      for (int p = 1; p <= kWaiters / 2; ++p) waiters.Advance(p);
    });
    waiters.Stop("forked log");
    source.join();
    ASSERT_TRUE(all.WaitForNotificationWithTimeout(kPatience));
    EXPECT_EQ(waiters.Waiting(), 0u);
  }  // destruction answers nobody a second time
  int stopped = 0;
  for (int i = 0; i < kWaiters; ++i) {
    EXPECT_EQ(ok[i] + unavailable[i], 1) << i;
    EXPECT_EQ(other[i].load(), 0) << i;
    if (i >= kWaiters / 2) {
      EXPECT_EQ(unavailable[i].load(), 1) << i;
    }
    stopped += unavailable[i];
  }
  EXPECT_GE(stopped, kWaiters / 2);
}

TEST(PositionWaitersTest, DestructionAnswersEveryWaiterAndWaitsForCallbacks) {
  Outcome pending;
  std::atomic<bool> slow_returned{false};
  bool slow_saw_the_shutdown = false;
  absl::Notification slow_started;
  {
    PositionWaiters waiters(Options(0, 2));
    waiters.Wait(1, absl::Now() + absl::Seconds(60), pending.Callback());
    // Still running when the destruction begins: it returns only once the
    // destruction has answered `pending` (on the other pool thread).
    waiters.Wait(0, absl::Now() + absl::Seconds(60), [&](absl::Status) {
      slow_started.Notify();
      slow_saw_the_shutdown = absl::IsUnavailable(pending.Get());
      slow_returned = true;
    });
    ASSERT_TRUE(slow_started.WaitForNotificationWithTimeout(kPatience));
  }
  EXPECT_TRUE(slow_returned) << "destruction returned before the callback";
  EXPECT_TRUE(slow_saw_the_shutdown);
  EXPECT_EQ(pending.calls(), 1);
  EXPECT_EQ(pending.Get().message(), "shutting down");
}

TEST(PositionWaitersTest, ABlockingCallbackDelaysNoOtherWaiter) {
  PositionWaiters waiters(Options(0, 2));
  const absl::Time far = absl::Now() + absl::Seconds(60);
  absl::Notification first_running, second_answered, expiry_answered;
  bool first_saw_the_others = false;
  Outcome first_done;
  // The first callback blocks until the second waiter's and the expiring
  // waiter's have run: with one thread for every callback they never would.
  waiters.Wait(1, far, [&](absl::Status) {
    first_running.Notify();
    first_saw_the_others =
        second_answered.WaitForNotificationWithTimeout(kPatience) &&
        expiry_answered.WaitForNotificationWithTimeout(kPatience);
    first_done.Set(absl::OkStatus());
  });
  waiters.Wait(2, far, [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    second_answered.Notify();
  });
  waiters.Advance(1);
  ASSERT_TRUE(first_running.WaitForNotificationWithTimeout(kPatience));
  waiters.Wait(9, absl::Now() + absl::Milliseconds(20), [&](absl::Status s) {
    EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
    expiry_answered.Notify();
  });
  waiters.Advance(2);
  EXPECT_TRUE(first_done.Get().ok());
  EXPECT_TRUE(first_saw_the_others);
}

}  // namespace
}  // namespace factlog
