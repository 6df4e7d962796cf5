#include "sim/engine/flow/flow_engine.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "sim/engine/flow/flow_simulation.hpp"

namespace foresight::sim {

using flow::Msg;

void FlowEngine::submitted(ActivityId id, const After& after, bool) {
  if (!forked_) return;  // the child inherits everything submitted before the fork
  for (; requests_sent_ < graph_.requests.size(); ++requests_sent_) {
    outbox_.put(Msg::request);
    outbox_.put_request(graph_.requests[requests_sent_]);
  }
  for (; plans_sent_ < static_cast<int>(graph_.plans.size()); ++plans_sent_) {
    outbox_.put(Msg::plan);
    outbox_.put_plan(*graph_.plans[static_cast<size_t>(plans_sent_)]);
  }
  const ActivityRecord& r = graph_[id];
  outbox_.put(Msg::add);
  outbox_.put(r.kind);
  outbox_.put(r.lane);
  outbox_.put(r.a);
  outbox_.put(r.b);
  outbox_.put(r.value);
  outbox_.put(static_cast<uint32_t>(after.size()));
  for (ActivityId d : after) outbox_.put(d);
}

void FlowEngine::watched(ActivityId id) {
  if (!forked_) {
    watched_.insert(id);
    return;
  }
  outbox_.put(Msg::watch);
  outbox_.put(id);
}

void FlowEngine::serve(flow::Channel& channel) {
  std::string message;
  for (;;) {
    if (!channel.receive(message))
      throw std::runtime_error("the flow simulation process died (signal or SimGrid abort); try fidelity: analytical");
    flow::Reader in(message);
    switch (in.get<Msg>()) {
      case Msg::event: {
        const auto id = in.get<ActivityId>();
        ActivityRecord& r = graph_[id];
        r.start = in.get<double>();
        r.end = in.get<double>();
        r.done = r.started = true;
        fire(id, in.get<double>());
        outbox_.put(Msg::end);
        channel.send(outbox_.buffer());
        outbox_.buffer().clear();
        break;
      }
      case Msg::done: {
        const auto n = in.get<uint64_t>();
        if (n != graph_.size()) throw std::runtime_error("the flow simulation returned a truncated result");
        for (size_t i = 0; i < n; ++i) {
          ActivityRecord& r = graph_[static_cast<ActivityId>(i)];
          r.start = in.get<double>();
          r.end = in.get<double>();
          r.done = r.started = true;
        }
        return;
      }
      case Msg::error: throw InputError(in.get_string());
      default: throw std::runtime_error("flow engine: unexpected message from the simulation");
    }
  }
}

void FlowEngine::run_backend() {
  int down[2], up[2];  // parent -> child, child -> parent
  if (::pipe(down) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe(up) != 0) {
    ::close(down[0]), ::close(down[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(down[1]);
    ::close(up[0]);
    const flow::Channel channel(down[0], up[1]);
    try {
      flow::simulate(graph_, watched_, model_, channel);
    } catch (const std::exception& e) {
      flow::Writer w;
      w.put(Msg::error);
      w.put_string(e.what());
      try {
        channel.send(w.buffer());
      } catch (...) {
      }
    }
    _exit(0);
  }
  ::close(down[0]);
  ::close(up[1]);
  flow::Channel channel(up[0], down[1]);
  forked_ = true;
  requests_sent_ = graph_.requests.size();
  plans_sent_ = static_cast<int>(graph_.plans.size());
  int status = 0;
  try {
    serve(channel);
  } catch (...) {
    channel.close();
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    throw;
  }
  channel.close();
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("the flow simulation process died (signal or SimGrid abort); try fidelity: analytical");
}

}  // namespace foresight::sim
