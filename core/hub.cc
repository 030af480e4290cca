#include "core/hub.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"

namespace factlog::core {

// Shares one round of wake-ups between the hub's thread and `helpers`
// threads of its own. Subscribers are taken in chunks from a shared index,
// so a slow one holds up only its chunk; a round ends when every
// subscriber in it was woken.
class Hub::WakePool {
 public:
  explicit WakePool(size_t helpers) {
    for (size_t i = 0; i < helpers; ++i) {
      threads_.emplace_back([this] { Help(); });
      pthread_setname_np(threads_.back().native_handle(), "factlog-hub-wake");
    }
  }
  ~WakePool() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& t : threads_) t.join();
  }

  // Wakes every subscriber in `round`, on this thread and the helpers;
  // returns once all are done. Called by one thread at a time.
  void WakeAll(const std::vector<std::shared_ptr<HubSubscriber>>& round) {
    if (threads_.empty() || round.size() < kMinParallelWakes) {
      for (const auto& s : round) s->Wake();
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      round_ = &round;
      next_.store(0, std::memory_order_relaxed);
      helping_ = threads_.size();
      ++generation_;
    }
    Drain(round);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](size_t* helping) { return *helping == 0; }, &helping_));
    round_ = nullptr;
  }

 private:
  static constexpr size_t kChunk = 16;

  void Drain(const std::vector<std::shared_ptr<HubSubscriber>>& round) {
    for (size_t first;
         (first = next_.fetch_add(kChunk, std::memory_order_relaxed)) <
         round.size();) {
      const size_t end = std::min(first + kChunk, round.size());
      for (size_t i = first; i < end; ++i) round[i]->Wake();
    }
  }

  void Help() {
    uint64_t seen = 0;
    for (;;) {
      const std::vector<std::shared_ptr<HubSubscriber>>* round;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this, &seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || generation_ != seen;
        };
        mu_.Await(absl::Condition(&ready));
        if (stopping_) return;
        seen = generation_;
        round = round_;
      }
      Drain(*round);
      absl::MutexLock lock(&mu_);
      --helping_;
    }
  }

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The round being woken; valid until helping_ drops to 0.
  const std::vector<std::shared_ptr<HubSubscriber>>* round_
      ABSL_GUARDED_BY(mu_) = nullptr;
  size_t helping_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<size_t> next_{0};
  std::vector<std::thread> threads_;
};

namespace {

size_t WakeThreads(const HubOptions& options) {
  if (options.wake_threads > 0) return options.wake_threads;
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
}

}  // namespace

Hub::Hub(uint64_t last_position, HubOptions options)
    : options_(options),
      window_first_(last_position + 1),
      last_published_(last_position),
      wake_pool_(std::make_unique<WakePool>(WakeThreads(options) - 1)) {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "factlog-hub");
}

Hub::~Hub() {
  Shutdown();
  if (thread_.joinable()) thread_.join();
}

void Hub::Publish(std::vector<v1::Event> events,
                  const std::vector<v1::ClaimStatus>& statuses,
                  std::vector<std::string> serialized) {
  std::vector<LiveEventPtr> prepared;
  prepared.reserve(events.size());
  const bool encoded = serialized.size() == events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    auto live = std::make_shared<LiveEvent>();
    live->event = std::move(events[i]);
    live->status_after =
        i < statuses.size() ? statuses[i] : v1::CLAIM_STATUS_UNSPECIFIED;
    if (encoded) {
      live->serialized = std::move(serialized[i]);
    } else {
      live->event.SerializeToString(&live->serialized);
    }
    live->bytes = 2 * live->serialized.size() + sizeof(LiveEvent);
    prepared.push_back(std::move(live));
  }
  absl::MutexLock lock(&mu_);
  for (LiveEventPtr& e : prepared) {
    last_published_ = e->event.position();
    window_bytes_ += e->bytes;
    window_.push_back(std::move(e));
  }
  while (!window_.empty() && (window_.size() > options_.window_events ||
                              window_bytes_ > options_.window_bytes)) {
    window_bytes_ -= window_.front()->bytes;
    window_.pop_front();
    ++window_first_;
  }
  if (window_.empty()) window_first_ = last_published_ + 1;
  for (auto& w : waiting_) to_wake_.push_back(std::move(w));
  waiting_.clear();
}

Hub::ReadResult Hub::Read(uint64_t from, size_t max,
                          std::vector<LiveEventPtr>* out,
                          const std::shared_ptr<HubSubscriber>& waiter) {
  absl::MutexLock lock(&mu_);
  if (from < window_first_) return ReadResult::kFellBehind;
  if (from > last_published_) {
    if (std::find(waiting_.begin(), waiting_.end(), waiter) == waiting_.end()) {
      waiting_.push_back(waiter);
    }
    return ReadResult::kWaiting;
  }
  for (size_t i = from - window_first_; i < window_.size() && max > 0;
       ++i, --max) {
    out->push_back(window_[i]);
  }
  return ReadResult::kEvents;
}

uint64_t Hub::LastPublished() const {
  absl::MutexLock lock(&mu_);
  return last_published_;
}

absl::Status Hub::Register(const std::shared_ptr<HubSubscriber>& subscriber,
                           const std::string& peer) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) {
    return absl::UnavailableError("factlogd is shutting down");
  }
  if (subscribers_.size() >= options_.max_subscribers) {
    return absl::ResourceExhaustedError(
        absl::StrCat("max_subscribers: the server already has ",
                     subscribers_.size(), " subscribers"));
  }
  size_t& on_peer = per_peer_[peer];
  if (on_peer >= options_.max_subscribers_per_peer) {
    return absl::ResourceExhaustedError(
        absl::StrCat("max_subscribers_per_connection: this connection already "
                     "has ",
                     on_peer, " subscriptions"));
  }
  ++on_peer;
  subscribers_.emplace(subscriber.get(), std::make_pair(subscriber, peer));
  if (subscriber->WantsSweepTicks()) {
    sweepers_.insert(subscriber.get());
    sweep_due_ = true;  // Run() then schedules sweep ticks from now on
  }
  return absl::OkStatus();
}

void Hub::Unregister(const HubSubscriber* subscriber) {
  absl::MutexLock lock(&mu_);
  auto it = subscribers_.find(subscriber);
  if (it == subscribers_.end()) return;
  auto peer = per_peer_.find(it->second.second);
  if (peer != per_peer_.end() && --peer->second == 0) per_peer_.erase(peer);
  auto drop = [subscriber](std::vector<std::shared_ptr<HubSubscriber>>& v) {
    v.erase(std::remove_if(
                v.begin(), v.end(),
                [subscriber](const auto& s) { return s.get() == subscriber; }),
            v.end());
  };
  drop(waiting_);
  drop(to_wake_);
  sweepers_.erase(subscriber);
  subscribers_.erase(it);
}

void Hub::Shutdown() {
  std::vector<std::shared_ptr<HubSubscriber>> all;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    for (auto& [ptr, entry] : subscribers_) all.push_back(entry.first);
  }
  for (auto& s : all) {
    s->Stop(absl::UnavailableError(
        "factlogd is shutting down; resume from the last position received"));
  }
}

void Hub::Run() {
  absl::Time next_tick = absl::Now() + options_.checkpoint_interval;
  absl::Time next_sweep = absl::InfiniteFuture();
  for (;;) {
    std::vector<std::shared_ptr<HubSubscriber>> wake;
    std::vector<std::shared_ptr<HubSubscriber>> sweep;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return shutting_down_ || !to_wake_.empty() || sweep_due_;
      };
      mu_.AwaitWithDeadline(absl::Condition(&ready),
                            std::min(next_tick, next_sweep));
      if (shutting_down_) return;
      // Sweep ticks run only while someone wants them, so subscribers
      // without overdue notices cost no more wake-ups than before.
      if (sweep_due_) {
        sweep_due_ = false;
        next_sweep =
            std::min(next_sweep, absl::Now() + options_.overdue_sweep_interval);
      }
      if (sweepers_.empty()) {
        next_sweep = absl::InfiniteFuture();
      } else if (absl::Now() >= next_sweep) {
        for (const HubSubscriber* s : sweepers_) {
          sweep.push_back(subscribers_.at(s).first);
        }
        next_sweep = absl::Now() + options_.overdue_sweep_interval;
      }
      if (absl::Now() >= next_tick) {
        // A tick: everyone may owe a checkpoint.
        for (auto& [ptr, entry] : subscribers_) wake.push_back(entry.first);
        next_tick = absl::Now() + options_.checkpoint_interval;
        to_wake_.clear();
      } else {
        wake.swap(to_wake_);
      }
    }
    for (auto& s : sweep) s->SweepTick();
    wake_pool_->WakeAll(wake);
  }
}

void Hub::FillStats(v1::GetStatsResponse* stats) const {
  std::vector<std::shared_ptr<HubSubscriber>> all;
  {
    absl::MutexLock lock(&mu_);
    stats->set_subscribers(subscribers_.size());
    stats->set_hub_window_events(window_.size());
    for (auto& [ptr, entry] : subscribers_) all.push_back(entry.first);
  }
  std::sort(all.begin(), all.end());
  for (auto& s : all) *stats->add_subscriber() = s->Stats();
  std::sort(stats->mutable_subscriber()->begin(),
            stats->mutable_subscriber()->end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  stats->set_hub_bytes(AccountedBytes());
}

size_t Hub::AccountedBytes() const {
  std::vector<std::shared_ptr<HubSubscriber>> all;
  size_t bytes;
  {
    absl::MutexLock lock(&mu_);
    bytes = window_bytes_;
    for (auto& [ptr, entry] : subscribers_) all.push_back(entry.first);
  }
  for (auto& s : all) bytes += s->BufferedBytes();
  return bytes;
}

}  // namespace factlog::core
