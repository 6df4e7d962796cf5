#pragma once
// The analytical backend: its own event heap in simulated time. Compute activities last their
// duration. A collective or transfer alone takes the collective model's contention-free time (the
// most loaded link of each phase). Concurrent ones share the links they both use: each communicates
// at its contention-free rate per link, and while the summed rate on one of its links exceeds the
// link's bandwidth it progresses that much slower (a fluid approximation of max-min sharing,
// re-evaluated whenever one starts or ends). Contention-free runs are unchanged.
#include <functional>
#include <memory>
#include <unordered_map>
#include <queue>
#include <vector>

#include "sim/collectives/collective_model.hpp"
#include "sim/engine/engine.hpp"

namespace foresight::sim {

// Times a collective request; tests inject closed forms in place of the network model.
using CollectiveTimer = std::function<CollectiveResult(const CollectiveRequest&)>;

class AnalyticalEngine final : public Engine {
 public:
  explicit AnalyticalEngine(CollectiveModel& model);
  // Collectives timed by `timer`, without a cluster: transfers and pre-decomposed plans are
  // unavailable (std::logic_error), and concurrent collectives do not share links.
  explicit AnalyticalEngine(CollectiveTimer timer);

  const char* fidelity() const override { return "analytical"; }
  // On a collective model, concurrent communications share links, so planners submit their
  // symmetric peers' traffic too (the DP collectives of every TP position); a timer-only engine
  // has no links to share.
  bool shares_links() const override { return model_ != nullptr; }

 protected:
  void submitted(ActivityId id, const After& after, bool ready) override;
  void watched(ActivityId id) override;
  void run_backend() override;

 private:
  using LinkBytes = std::vector<std::pair<int, double>>;
  struct Event {
    double time;
    uint64_t seq;           // submission order breaks ties, so runs are deterministic
    ActivityId id;
    bool callback_only;     // then() on an activity that had already completed
    uint64_t version = 0;   // a communication's end moves when sharing changes: older events are stale
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };
  // A communication in flight, progressing through its contention-free duration `alone`.
  struct Active {
    ActivityId id;
    double alone = 0;              // seconds without contention
    double left = 1;               // fraction of the work still to do
    double slowdown = 1;           // current stretch factor (>= 1)
    double since = 0;              // time `left` was last brought up to date
    uint64_t version = 0;
    std::shared_ptr<const LinkBytes> links;  // bytes per link
  };
  void start(ActivityId id);
  double time_of(const ActivityRecord& r);
  std::shared_ptr<const LinkBytes> links_of(const ActivityRecord& r);
  void join(ActivityId id, double alone, std::shared_ptr<const LinkBytes> links);
  void leave(ActivityId id);
  void restretch(const LinkBytes& changed);

  CollectiveModel* model_ = nullptr;
  CollectiveTimer timer_;
  std::priority_queue<Event, std::vector<Event>, Later> heap_;
  uint64_t seq_ = 0;
  std::vector<double> request_seconds_;  // by interned request, NaN until first timed
  std::vector<ActivityId> ready_;
  // Link sharing.
  std::vector<std::shared_ptr<const LinkBytes>> request_links_, plan_links_;  // by request / plan index
  std::vector<Active> active_;
  std::vector<double> link_rate_;        // summed bytes/s of the active communications per link
  std::vector<int> link_users_;          // how many of them use the link
  std::vector<std::vector<ActivityId>> link_members_;  // which ones (only links in use are non-empty)
  std::vector<ActivityId> affected_;     // scratch
  std::unordered_map<ActivityId, size_t> active_slot_;
};

}  // namespace foresight::sim
