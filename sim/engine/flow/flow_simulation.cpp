#include "sim/engine/flow/flow_simulation.hpp"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <simgrid/s4u.hpp>

#include "sim/engine/flow/phase_split.hpp"
#include "sim/network/flow_platform.hpp"

namespace foresight::sim::flow {

namespace {

namespace s4u = simgrid::s4u;

// SimGrid 3.32 keeps host-to-host (sendto) comms in a single list and removes each finished one
// with a linear search, so tens of thousands of concurrent sendto flows cost O(n^2). Small phases
// (the common case: TP, PP and single-node collectives) use sendto from the activity's own actor,
// which is cheapest; large phases go through mailboxes, one actor per GPU sending and receiving its
// share, whose comms live in their actors' short lists (16,384-GPU tree all-reduce: 43.7 s with
// sendto, 14-20 s with mailboxes). Mailboxes are named by an in-flight slot, reused once its phase
// ends, so concurrent collectives never match each other's messages.
constexpr size_t kSendtoLimit = 2048;

// A phase with more transfers than this that runs alone is split into independent parts
// (phase_split.hpp), each simulated in a process forked from this one at the phase's start, at
// most one per CPU at a time; the phase lasts as long as the slowest part. Below it, one
// simulation is cheaper than the forks.
constexpr size_t kSplitMinTransfers = 4096;
constexpr int kSplitMaxGroups = 16;

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
    actors.push_back(s4u::Actor::create("flows", platform.endpoint(e), [inbox = mailbox(e), ep = std::move(ep)] {
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

void run_transfers(const FlowPlatform& platform, const std::vector<Transfer>& transfers, SlotPool& slots) {
  if (transfers.size() <= kSendtoLimit) {
    run_with_sendto(platform, transfers);
  } else {
    const int slot = slots.acquire();
    run_with_mailboxes(platform, transfers, slot);
    slots.release(slot);
  }
}

// Sanitizer builds run actors on threads (see simulate()), and a child forked from inside an actor
// keeps only that thread, not the maestro it would wait for: there, large phases are simulated
// whole. Same times (the split is exact, tests/unit/engine/test_phase_split.cpp), only slower.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kForkSplits = false;
#else
constexpr bool kForkSplits = true;
#endif

bool read_all(int fd, void* data, size_t size) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t r = ::read(fd, p, size);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    size -= static_cast<size_t>(r);
  }
  return true;
}

// Simulates each group in a child of this process, which continues this very simulation from the
// phase's start with only its group's flows, and returns the clock when the last group finished.
double run_split(const FlowPlatform& platform, const std::vector<std::vector<Transfer>>& groups, SlotPool& slots) {
  const int jobs = std::max(1, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  struct Job {
    pid_t pid;
    int fd;
  };
  std::deque<Job> running;
  double latest = s4u::Engine::get_clock();
  bool failed = false;
  auto collect = [&] {
    const Job j = running.front();
    running.pop_front();
    double end = 0;
    if (read_all(j.fd, &end, sizeof end)) latest = std::max(latest, end);
    else failed = true;
    ::close(j.fd);
    int status = 0;
    ::waitpid(j.pid, &status, 0);
    failed = failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  };
  std::fflush(nullptr);
  for (const auto& group : groups) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("flow engine: pipe failed");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("flow engine: fork failed");
    if (pid == 0) {
      ::close(fds[0]);
      run_transfers(platform, group, slots);
      const double end = s4u::Engine::get_clock();
      const bool ok = ::write(fds[1], &end, sizeof end) == static_cast<ssize_t>(sizeof end);
      _exit(ok ? 0 : 3);
    }
    ::close(fds[1]);
    running.push_back({pid, fds[0]});
    if (static_cast<int>(running.size()) >= jobs) collect();
  }
  while (!running.empty()) collect();
  if (failed) throw std::runtime_error("flow engine: a phase part's simulation process died");
  return latest;
}

class Simulation {
 public:
  Simulation(ActivityGraph& graph, std::unordered_set<ActivityId>& watched, CollectiveModel& model,
             const FlowPlatform& platform, const Channel& channel)
      : graph_(graph), watched_(watched), model_(model), platform_(platform), channel_(channel) {}

  void start() {
    for (size_t i = 0; i < graph_.size(); ++i)
      if (graph_[static_cast<ActivityId>(i)].pending == 0) launch(static_cast<ActivityId>(i));
  }

 private:
  void run_phase(const Phase& phase) {
    const double start = s4u::Engine::get_clock();
    // Alone: no other activity is in flight, and none can start before this one ends (activities
    // start only when others complete), so nothing else can share this phase's links.
    const bool alone = in_flight_ == 1;
    PhaseSplit split;
    if (kForkSplits && alone && phase.transfers.size() > kSplitMinTransfers)
      split = split_phase(phase.transfers, model_.cluster(), kSplitMaxGroups);
    if (split.groups.size() > 1 || split.distinct < split.components) {
      const double end = run_split(platform_, split.groups, slots_);
      if (end > start) s4u::this_actor::sleep_until(end);
    } else {
      run_transfers(platform_, phase.transfers, slots_);
    }
    const double bandwidth_time = s4u::Engine::get_clock() - start;
    const double extra = bandwidth_time * (phase.pipeline_factor - 1.0) + phase.latency_s;
    if (extra > 0) s4u::this_actor::sleep_for(extra);
  }

  void run_plan(const CollectivePlan& plan) {
    for (const auto& ph : plan.phases) run_phase(ph);
  }

  // The plan of an interned request, decomposed once however often it is issued.
  const CollectivePlan& request_plan(int index) {
    if (request_plans_.size() <= static_cast<size_t>(index)) request_plans_.resize(static_cast<size_t>(index) + 1);
    auto& slot = request_plans_[static_cast<size_t>(index)];
    if (!slot) slot = std::make_unique<CollectivePlan>(model_.choose(graph_.requests[index]).plan);
    return *slot;
  }

  void launch(ActivityId id) {
    graph_[id].started = true;
    ++in_flight_;
    s4u::Actor::create("activity", platform_.control(), [this, id] {
      graph_[id].start = s4u::Engine::get_clock();
      const ActivityRecord r = graph_[id];
      switch (r.kind) {
        case ActivityKind::compute:
          if (r.value > 0) s4u::this_actor::sleep_for(r.value);
          break;
        case ActivityKind::timer:
          if (r.value > s4u::Engine::get_clock()) s4u::this_actor::sleep_until(r.value);
          break;
        case ActivityKind::transfer: run_plan(model_.transfer_plan(r.a, r.b, r.value)); break;
        case ActivityKind::collective:
          if (r.b >= 0) run_plan(*graph_.plans[static_cast<size_t>(r.b)]);
          else if (graph_.requests[r.a].ranks.size() > 1) run_plan(request_plan(r.a));
          break;
      }
      std::vector<ActivityId> ready;
      --in_flight_;
      graph_.complete(id, s4u::Engine::get_clock(), ready);
      for (ActivityId next : ready) launch(next);
      if (watched_.count(id)) report(id);
    });
  }

  // Tells the parent that `id` completed and applies the activities its callbacks started. A
  // watch on an activity that has already completed is answered at once, in the same loop.
  void report(ActivityId first) {
    std::deque<ActivityId> due{first};
    std::string message;
    while (!due.empty()) {
      const ActivityId id = due.front();
      due.pop_front();
      Writer w;
      w.put(Msg::event);
      w.put(id);
      w.put(graph_[id].start);
      w.put(graph_[id].end);
      w.put(s4u::Engine::get_clock());  // later than `end` for a watch on an activity long done
      channel_.send(w.buffer());
      if (!channel_.receive(message)) throw std::runtime_error("flow engine: the parent process went away");
      Reader in(message);
      for (Msg kind = in.get<Msg>(); kind != Msg::end; kind = in.get<Msg>()) {
        const ActivityId touched = apply_command(kind, in, graph_, watched_);
        if (kind == Msg::add && graph_[touched].pending == 0) launch(touched);
        if (kind == Msg::watch && graph_[touched].done) due.push_back(touched);
      }
    }
  }

  ActivityGraph& graph_;
  std::unordered_set<ActivityId>& watched_;
  CollectiveModel& model_;
  const FlowPlatform& platform_;
  const Channel& channel_;
  SlotPool slots_;
  std::vector<std::unique_ptr<CollectivePlan>> request_plans_;
  int in_flight_ = 0;   // activities started and not yet completed
};

}  // namespace

ActivityId apply_command(Msg kind, Reader& in, ActivityGraph& graph, std::unordered_set<ActivityId>& watched) {
  switch (kind) {
    case Msg::request: {
      bool fresh = false;
      graph.requests.intern(in.get_request(), &fresh);
      if (!fresh) throw std::logic_error("flow engine: request tables out of step");
      return -1;
    }
    case Msg::plan: graph.plans.push_back(std::make_shared<const CollectivePlan>(in.get_plan())); return -1;
    case Msg::add: {
      ActivityRecord r;
      r.kind = in.get<ActivityKind>();
      r.lane = in.get<Lane>();
      r.a = in.get<int>();
      r.b = in.get<int>();
      r.value = in.get<double>();
      std::vector<ActivityId> after(in.get<uint32_t>());
      for (auto& d : after) d = in.get<ActivityId>();
      return graph.add(r, after);
    }
    case Msg::watch: {
      const auto id = in.get<ActivityId>();
      watched.insert(id);
      return id;
    }
    default: throw std::logic_error("flow engine: unexpected command in a batch");
  }
}

void simulate(ActivityGraph& graph, std::unordered_set<ActivityId>& watched, CollectiveModel& model,
              const Channel& channel) {
  char arg0[] = "foresight";
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer cannot follow SimGrid's hand-switched stacks (it reports their release as a
  // bad free, and without guard pages it faults): sanitizer builds run actors on threads. The
  // context factory must be chosen before the engine starts, so it is a command-line option.
  char arg1[] = "--cfg=contexts/factory:thread";
  int argc = 2;
  char* argv[] = {arg0, arg1, nullptr};
#else
  int argc = 1;
  char* argv[] = {arg0, nullptr};
#endif
  s4u::Engine engine(&argc, argv);
  configure_simgrid_engine();
  FlowPlatform platform(model.cluster());
  Simulation sim(graph, watched, model, platform, channel);
  sim.start();
  engine.run();
  Writer w;
  w.put(Msg::done);
  w.put(static_cast<uint64_t>(graph.size()));
  for (size_t i = 0; i < graph.size(); ++i) {
    w.put(graph[static_cast<ActivityId>(i)].start);
    w.put(graph[static_cast<ActivityId>(i)].end);
  }
  channel.send(w.buffer());
}

}  // namespace foresight::sim::flow
