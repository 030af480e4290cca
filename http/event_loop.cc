#include "http/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace factlog::http {

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Make() {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    return absl::InternalError(
        absl::StrCat("epoll_create1: ", std::strerror(errno)));
  }
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    close(epoll_fd);
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake-up
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &event);
  return std::unique_ptr<EventLoop>(new EventLoop(epoll_fd, wake_fd));
}

EventLoop::~EventLoop() {
  Stop();
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EventLoop::Stop() {
  stop_ = true;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  posted_.clear();
}

std::vector<std::shared_ptr<EventLoop::Handler>> EventLoop::TakeHandlers() {
  std::vector<std::shared_ptr<Handler>> all;
  for (auto& [key, handler] : handlers_) all.push_back(std::move(handler));
  handlers_.clear();
  removed_.clear();
  size_ = 0;
  return all;
}

void EventLoop::Post(std::function<void()> task) {
  bool wake = false;
  {
    absl::MutexLock lock(&mu_);
    posted_.push_back(std::move(task));
    wake = !woken_;
    woken_ = true;
  }
  if (wake) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
}

void EventLoop::PostDelayed(std::function<void()> task) {
  bool wake = false;
  {
    absl::MutexLock lock(&mu_);
    // The loop sleeps until the first delayed task is due: only a task
    // that is now first changes that.
    wake = delayed_.empty() && !woken_;
    if (wake) woken_ = true;
    delayed_.emplace_back(absl::Now() + kDelay, std::move(task));
  }
  if (wake) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
}

bool EventLoop::Add(int fd, uint32_t events, std::shared_ptr<Handler> handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler.get();
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) return false;
  handlers_[handler.get()] = std::move(handler);
  size_ = handlers_.size();
  return true;
}

void EventLoop::Modify(int fd, uint32_t events, Handler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
}

void EventLoop::Remove(int fd, Handler* handler) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  auto it = handlers_.find(handler);
  if (it == handlers_.end()) return;
  removed_.push_back(std::move(it->second));
  handlers_.erase(it);
  size_ = handlers_.size();
}

absl::Time EventLoop::RunPosted() {
  std::vector<std::function<void()>> tasks;
  const absl::Time now = absl::Now();
  absl::Time next = absl::InfiniteFuture();
  {
    absl::MutexLock lock(&mu_);
    tasks.swap(posted_);
    while (!delayed_.empty() && delayed_.front().first <= now) {
      tasks.push_back(std::move(delayed_.front().second));
      delayed_.pop_front();
    }
    if (!delayed_.empty()) next = delayed_.front().first;
    woken_ = false;
  }
  for (std::function<void()>& task : tasks) task();
  return next;
}

void EventLoop::Run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  absl::Time next_tick = absl::Now() + kTick;
  absl::Time next_delayed = absl::InfiniteFuture();
  while (!stop_.load()) {
    const int64_t wait_us = std::max<int64_t>(
        0, absl::ToInt64Microseconds(std::min(next_tick, next_delayed) -
                                     absl::Now()));
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents,
                             static_cast<int>((wait_us + 999) / 1000));
    if (stop_.load()) break;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        continue;
      }
      auto* handler = static_cast<Handler*>(events[i].data.ptr);
      // A handler removed earlier in this round is still alive (removed_)
      // and ignores what comes after its close.
      handler->OnEvents(events[i].events);
    }
    next_delayed = RunPosted();
    const absl::Time now = absl::Now();
    if (now >= next_tick) {
      next_tick = now + kTick;
      std::vector<Handler*> all;
      all.reserve(handlers_.size());
      for (const auto& entry : handlers_) all.push_back(entry.first);
      for (Handler* handler : all) {
        if (handlers_.count(handler) != 0) handler->OnTick(now);
      }
    }
    removed_.clear();
  }
}

}  // namespace factlog::http
