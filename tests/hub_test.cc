// The hub on its own: who is woken by a publication, and on which threads.
#include "core/hub.h"

#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace factlog {
namespace {

using core::Hub;
using core::HubOptions;
using core::HubSubscriber;

// Counts its wake-ups and the threads they ran on. When `hold` is set, its
// Wake returns only once some other subscriber of the round was woken on
// another thread (or after a generous deadline, which fails the test).
class FakeSubscriber final : public HubSubscriber {
 public:
  struct Shared {
    absl::Mutex mu;
    int wakes ABSL_GUARDED_BY(mu) = 0;
    std::set<std::thread::id> threads ABSL_GUARDED_BY(mu);
  };
  FakeSubscriber(Shared* shared, bool hold) : shared_(shared), hold_(hold) {}

  void Wake() override {
    absl::MutexLock lock(&shared_->mu);
    ++shared_->wakes;
    ++wakes_;
    shared_->threads.insert(std::this_thread::get_id());
    if (hold_) {
      const std::thread::id me = std::this_thread::get_id();
      auto other_thread_woke = [this, me]() {
        shared_->mu.AssertHeld();
        for (const std::thread::id& t : shared_->threads) {
          if (t != me) return true;
        }
        return false;
      };
      held_until_other_ = shared_->mu.AwaitWithTimeout(
          absl::Condition(&other_thread_woke), absl::Seconds(30));
    }
  }
  void Stop(const absl::Status&) override {}
  v1::SubscriberStats Stats() const override { return {}; }
  size_t BufferedBytes() const override { return 0; }

  int wakes() const {
    absl::MutexLock lock(&shared_->mu);
    return wakes_;
  }
  bool held_until_other() const {
    absl::MutexLock lock(&shared_->mu);
    return held_until_other_;
  }

 private:
  Shared* const shared_;
  const bool hold_;
  int wakes_ = 0;  // guarded by shared_->mu
  bool held_until_other_ = false;
};

v1::Event EventAt(uint64_t position) {
  v1::Event e;
  e.set_position(position);
  e.set_claim_id("c");
  return e;
}

// Registers `n` subscribers, all waiting for position 1; the first holds.
std::vector<std::shared_ptr<FakeSubscriber>> WaitingSubscribers(
    Hub& hub, FakeSubscriber::Shared* shared, size_t n, bool first_holds) {
  std::vector<std::shared_ptr<FakeSubscriber>> subs;
  for (size_t i = 0; i < n; ++i) {
    auto s = std::make_shared<FakeSubscriber>(shared, first_holds && i == 0);
    EXPECT_TRUE(hub.Register(s, absl::StrCat("peer-", i % 50)).ok());
    std::vector<core::LiveEventPtr> out;
    EXPECT_EQ(hub.Read(1, 10, &out, s), Hub::ReadResult::kWaiting);
    subs.push_back(std::move(s));
  }
  return subs;
}

void AwaitWakes(FakeSubscriber::Shared& shared, int n) {
  absl::MutexLock lock(&shared.mu);
  auto done = [&shared, n]() {
    shared.mu.AssertHeld();
    return shared.wakes >= n;
  };
  ASSERT_TRUE(
      shared.mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(30)));
}

class HubWakeTest : public ::testing::TestWithParam<size_t> {};

TEST_P(HubWakeTest, EveryWaitingSubscriberIsWokenOncePerPublication) {
  HubOptions options;
  options.wake_threads = GetParam();
  options.checkpoint_interval = absl::Hours(1);  // no tick wakes everyone
  Hub hub(0, options);
  FakeSubscriber::Shared shared;
  // Below and above the size at which a round is shared.
  for (size_t n : {Hub::kMinParallelWakes - 1, size_t{500}}) {
    {
      absl::MutexLock lock(&shared.mu);
      shared.wakes = 0;
    }
    const uint64_t position = hub.LastPublished() + 1;
    std::vector<std::shared_ptr<FakeSubscriber>> subs;
    for (size_t i = 0; i < n; ++i) {
      auto s = std::make_shared<FakeSubscriber>(&shared, false);
      ASSERT_TRUE(hub.Register(s, absl::StrCat("n", n, "-", i)).ok());
      std::vector<core::LiveEventPtr> out;
      ASSERT_EQ(hub.Read(position, 10, &out, s), Hub::ReadResult::kWaiting);
      subs.push_back(std::move(s));
    }
    hub.Publish({EventAt(position)}, {v1::CLAIM_STATUS_UNVERIFIED});
    AwaitWakes(shared, static_cast<int>(n));
    // Nobody is woken twice: a subscriber waits again only by reading.
    hub.Publish({EventAt(position + 1)}, {v1::CLAIM_STATUS_UNVERIFIED});
    std::vector<core::LiveEventPtr> out;
    auto probe = std::make_shared<FakeSubscriber>(&shared, false);
    ASSERT_TRUE(hub.Register(probe, "probe").ok());
    ASSERT_EQ(hub.Read(position + 2, 10, &out, probe),
              Hub::ReadResult::kWaiting);
    hub.Publish({EventAt(position + 2)}, {v1::CLAIM_STATUS_UNVERIFIED});
    AwaitWakes(shared, static_cast<int>(n) + 1);
    for (const auto& s : subs) EXPECT_EQ(s->wakes(), 1);
    EXPECT_EQ(probe->wakes(), 1);
    for (const auto& s : subs) hub.Unregister(s.get());
    hub.Unregister(probe.get());
  }
}

INSTANTIATE_TEST_SUITE_P(WakeThreads, HubWakeTest, ::testing::Values(1, 2, 4));

TEST(HubWakeTest, ALargeRoundIsSharedWithAnotherThread) {
  HubOptions options;
  options.wake_threads = 2;
  options.checkpoint_interval = absl::Hours(1);
  Hub hub(0, options);
  FakeSubscriber::Shared shared;
  // The first subscriber's wake-up holds its thread until another thread
  // wakes someone: with one thread that never happens.
  auto subs = WaitingSubscribers(hub, &shared, 200, /*first_holds=*/true);
  hub.Publish({EventAt(1)}, {v1::CLAIM_STATUS_UNVERIFIED});
  AwaitWakes(shared, 200);
  EXPECT_TRUE(subs[0]->held_until_other());
  for (const auto& s : subs) EXPECT_EQ(s->wakes(), 1);
}

}  // namespace
}  // namespace factlog
