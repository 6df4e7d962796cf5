#pragma once
// The analytical backend: its own event heap in simulated time. Compute activities last their
// duration; collectives and transfers take the collective model's contention-free time (the most
// loaded link of each phase), so concurrent collectives do not slow each other down.
#include <functional>
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
  // unavailable (std::logic_error).
  explicit AnalyticalEngine(CollectiveTimer timer);

  const char* fidelity() const override { return "analytical"; }
  bool shares_links() const override { return false; }

 protected:
  void submitted(ActivityId id, const After& after, bool ready) override;
  void watched(ActivityId id) override;
  void run_backend() override;

 private:
  struct Event {
    double time;
    uint64_t seq;           // submission order breaks ties, so runs are deterministic
    ActivityId id;
    bool callback_only;     // then() on an activity that had already completed
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };
  void start(ActivityId id);
  double time_of(const ActivityRecord& r);

  CollectiveModel* model_ = nullptr;
  CollectiveTimer timer_;
  std::priority_queue<Event, std::vector<Event>, Later> heap_;
  uint64_t seq_ = 0;
  std::vector<double> request_seconds_;  // by interned request, NaN until first timed
  std::vector<ActivityId> ready_;
};

}  // namespace foresight::sim
