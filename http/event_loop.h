#ifndef FACTLOG_HTTP_EVENT_LOOP_H_
#define FACTLOG_HTTP_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace factlog::http {

// One thread waiting on epoll for its sockets, running what other threads
// post to it, and ticking its handlers a few times a second (for their
// timeouts). Every socket read and write of the HTTP listener happens on
// one of these. Post and Stop are thread-safe; Add, Modify and Remove are
// for the loop's own thread (from a handler or a posted task).
class EventLoop {
 public:
  // What the loop calls on its thread.
  class Handler {
   public:
    virtual ~Handler() = default;
    // epoll says `events` (EPOLLIN, EPOLLOUT, EPOLLERR, ...) for its fd.
    virtual void OnEvents(uint32_t events) = 0;
    // About every `kTick`.
    virtual void OnTick(absl::Time now) = 0;
  };
  static constexpr absl::Duration kTick = absl::Milliseconds(250);

  // INTERNAL when epoll or its wake-up eventfd cannot be made.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Make();
  ~EventLoop();  // Stop, then closes what it made (not the handlers' fds)
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts the thread.
  void Start();
  // Ends the thread and joins it (idempotent); posted tasks not yet run
  // are dropped. The handlers stay registered: TakeHandlers.
  void Stop();
  // The handlers still registered, unregistered. After Stop.
  std::vector<std::shared_ptr<Handler>> TakeHandlers();

  // Runs `task` on the loop's thread soon. Any thread.
  void Post(std::function<void()> task);
  // Runs `task` on the loop's thread about kDelay from now (the delay is
  // one constant, so these run in the order they were posted). Any thread.
  static constexpr absl::Duration kDelay = absl::Milliseconds(20);
  void PostDelayed(std::function<void()> task);

  // Loop thread only. Watches `fd` for `events` (level-triggered), holding
  // `handler` until Remove. False when epoll refuses the fd.
  bool Add(int fd, uint32_t events, std::shared_ptr<Handler> handler);
  void Modify(int fd, uint32_t events, Handler* handler);
  // Stops watching `fd` and lets go of `handler` (after the events of
  // this round were delivered). The caller closes the fd.
  void Remove(int fd, Handler* handler);
  size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  EventLoop(int epoll_fd, int wake_fd)
      : epoll_fd_(epoll_fd), wake_fd_(wake_fd) {}
  void Run();
  // Runs what was posted, and the delayed tasks that are due; returns when
  // the next delayed one is due (InfiniteFuture when none is waiting).
  absl::Time RunPosted();

  const int epoll_fd_;
  const int wake_fd_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> size_{0};

  absl::Mutex mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Time, std::function<void()>>> delayed_
      ABSL_GUARDED_BY(mu_);
  bool woken_ ABSL_GUARDED_BY(mu_) = false;

  // Loop thread (or after Stop).
  std::unordered_map<Handler*, std::shared_ptr<Handler>> handlers_;
  std::vector<std::shared_ptr<Handler>> removed_;  // until the round ends
};

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_EVENT_LOOP_H_
