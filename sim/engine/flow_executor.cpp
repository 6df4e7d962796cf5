#include "sim/engine/flow_executor.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <simgrid/s4u.hpp>

#include "sim/core/error.hpp"
#include "sim/engine/task_readiness.hpp"
#include "sim/network/flow_platform.hpp"

namespace foresight::sim {

namespace {

namespace s4u = simgrid::s4u;

// SimGrid 3.32 keeps host-to-host (sendto) comms in a single list and removes each finished one
// with a linear search, so tens of thousands of concurrent sendto flows cost O(n^2). Small phases
// (the common case: TP, PP and single-node collectives) use sendto from the task's own actor,
// which is cheapest; large phases go through mailboxes, one actor per GPU sending and receiving its
// share, whose comms live in their actors' short lists (16,384-GPU tree all-reduce: 43.7 s with
// sendto, 14-20 s with mailboxes). Mailboxes are named by an in-flight slot,
// reused once its phase ends, so concurrent collectives never match each other's messages.
constexpr size_t kSendtoLimit = 2048;

class SlotPool {
 public:
  int acquire() {
    if (free_.empty()) return next_++;
    const int s = free_.back();
    free_.pop_back();
    return s;
  }
  void release(int s) { free_.push_back(s); }

 private:
  std::vector<int> free_;
  int next_ = 0;
};

uint64_t wire_size(const Transfer& t) { return static_cast<uint64_t>(std::max(1.0, std::round(t.wire_bytes))); }

void run_with_sendto(const FlowPlatform& platform, const std::vector<Transfer>& transfers) {
  std::vector<s4u::CommPtr> comms;
  comms.reserve(transfers.size());
  for (const auto& t : transfers)
    comms.push_back(s4u::Comm::sendto_async(platform.endpoint(t.src), platform.endpoint(t.dst), wire_size(t)));
  s4u::Comm::wait_all(comms);
}

void run_with_mailboxes(const FlowPlatform& platform, const std::vector<Transfer>& transfers, int slot) {
  struct Endpoint {
    std::vector<std::pair<s4u::Mailbox*, uint64_t>> sends;
    int receives = 0;
  };
  auto mailbox = [slot](int dst) { return s4u::Mailbox::by_name(fmt::format("s{}d{}", slot, dst)); };
  std::map<int, Endpoint> endpoints;
  for (const auto& t : transfers) {
    endpoints[t.src].sends.emplace_back(mailbox(t.dst), wire_size(t));
    ++endpoints[t.dst].receives;
  }
  static char payload = 0;  // mailbox comms carry a pointer; the simulated size is what matters
  std::vector<s4u::ActorPtr> actors;
  actors.reserve(endpoints.size());
  for (auto& [e, ep] : endpoints) {
    actors.push_back(s4u::Actor::create("flows", platform.endpoint(e),
                                        [inbox = mailbox(e), ep = std::move(ep)] {
      std::vector<char*> data(static_cast<size_t>(ep.receives), nullptr);
      std::vector<s4u::CommPtr> comms;
      comms.reserve(data.size() + ep.sends.size());
      for (auto& d : data) comms.push_back(inbox->get_async<char>(&d));
      for (const auto& [mb, bytes] : ep.sends) comms.push_back(mb->put_async(&payload, bytes));
      s4u::Comm::wait_all(comms);
    }));
  }
  for (auto& a : actors) a->join();
}

void run_phase(const FlowPlatform& platform, const Phase& phase, SlotPool& slots) {
  const double start = s4u::Engine::get_clock();
  if (phase.transfers.size() <= kSendtoLimit) {
    run_with_sendto(platform, phase.transfers);
  } else {
    const int slot = slots.acquire();
    run_with_mailboxes(platform, phase.transfers, slot);
    slots.release(slot);
  }
  const double bandwidth_time = s4u::Engine::get_clock() - start;
  const double extra = bandwidth_time * (phase.pipeline_factor - 1.0) + phase.latency_s;
  if (extra > 0) s4u::this_actor::sleep_for(extra);
}

class FlowRun {
 public:
  FlowRun(const TaskGraph& graph, CollectiveModel& model, const FlowPlatform& platform)
      : graph_(graph), model_(model), platform_(platform), ready_(graph), timings_(graph.tasks().size()) {}

  void start() {
    for (TaskId id : ready_.initially_ready()) launch(id);
  }
  std::vector<TaskTiming> take() { return std::move(timings_); }

 private:
  void launch(TaskId id) {
    s4u::Actor::create("task", platform_.control(), [this, id] {
      timings_[static_cast<size_t>(id)].start_s = s4u::Engine::get_clock();
      const Task& t = graph_.tasks()[static_cast<size_t>(id)];
      if (t.kind == Task::Kind::collective) {
        if (t.plan) {
          for (const auto& ph : t.plan->phases) run_phase(platform_, ph, slots_);
        } else if (t.collective.ranks.size() > 1) {
          const auto plan = model_.choose(t.collective).plan;
          for (const auto& ph : plan.phases) run_phase(platform_, ph, slots_);
        }
      } else if (t.duration_s > 0) {
        s4u::this_actor::sleep_for(t.duration_s);
      }
      timings_[static_cast<size_t>(id)].end_s = s4u::Engine::get_clock();
      for (TaskId next : ready_.complete(id)) launch(next);
    });
  }

  const TaskGraph& graph_;
  CollectiveModel& model_;
  const FlowPlatform& platform_;
  TaskReadiness ready_;
  SlotPool slots_;
  std::vector<TaskTiming> timings_;
};

void write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t w = ::write(fd, p, size);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(3);
    p += w;
    size -= static_cast<size_t>(w);
  }
}

}  // namespace

std::vector<TaskTiming> run_flow_in_process(const TaskGraph& graph, CollectiveModel& model) {
  int argc = 1;
  char arg0[] = "foresight";
  char* argv[] = {arg0, nullptr};
  s4u::Engine engine(&argc, argv);
  configure_simgrid_engine();
  FlowPlatform platform(model.cluster());
  FlowRun run(graph, model, platform);
  run.start();
  engine.run();
  return run.take();
}

std::vector<TaskTiming> run_flow(const TaskGraph& graph, CollectiveModel& model) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(fds[0]);
    // Status byte, then either the timings or an error message.
    try {
      const auto timings = run_flow_in_process(graph, model);
      const char ok = 0;
      write_all(fds[1], &ok, 1);
      write_all(fds[1], timings.data(), timings.size() * sizeof(TaskTiming));
    } catch (const std::exception& e) {
      const char bad = 1;
      write_all(fds[1], &bad, 1);
      write_all(fds[1], e.what(), std::strlen(e.what()));
    }
    ::close(fds[1]);
    _exit(0);
  }
  ::close(fds[1]);
  std::string buffer;
  char chunk[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fds[0], chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    buffer.append(chunk, static_cast<size_t>(r));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (buffer.empty() || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("the flow simulation process died (signal or SimGrid abort); try fidelity: analytical");
  if (buffer[0] != 0) throw InputError(buffer.substr(1));
  std::vector<TaskTiming> timings(graph.tasks().size());
  if (buffer.size() - 1 != timings.size() * sizeof(TaskTiming))
    throw std::runtime_error("the flow simulation returned a truncated result");
  std::memcpy(timings.data(), buffer.data() + 1, buffer.size() - 1);
  return timings;
}

}  // namespace foresight::sim
