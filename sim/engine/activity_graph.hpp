#pragma once
// The bookkeeping both engine backends share: activity records, what each waits for (explicit
// dependencies plus the previous activity on its lane), and what a completion makes ready.
// Collective requests are interned, so the thousands of identical collectives a planner issues are
// stored, planned and timed once.
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "sim/collectives/collective.hpp"
#include "sim/collectives/plan.hpp"

namespace foresight::sim {

using ActivityId = int;

// A FIFO queue of activities, like a CUDA stream of one GPU: activities on one lane run one at a
// time, in submission order. rank < 0 means no lane.
struct Lane {
  int rank = -1;
  int stream = 0;
};

enum class ActivityKind : uint8_t { compute, collective, transfer, timer };

struct ActivityRecord {
  ActivityKind kind = ActivityKind::compute;
  bool done = false;
  bool started = false;
  Lane lane;
  int pending = 0;        // dependencies not yet completed
  int a = -1, b = -1;     // collective: request index, plan index (-1: plan by the model); transfer: src, dst
  double value = 0;       // compute: seconds; transfer: bytes; timer: time
  double start = -1, end = -1;
  double duration = -1;   // as the backend computed it (analytical), so end - start rounding never shows
};

// Identical requests share one index.
class RequestTable {
 public:
  int intern(const CollectiveRequest& req, bool* fresh = nullptr);
  const CollectiveRequest& operator[](int i) const { return requests_[static_cast<size_t>(i)]; }
  int size() const { return static_cast<int>(requests_.size()); }

 private:
  std::vector<CollectiveRequest> requests_;
  std::unordered_multimap<uint64_t, int> index_;
};

class ActivityGraph {
 public:
  // Throws std::logic_error when `after` names an activity that does not exist yet.
  ActivityId add(const ActivityRecord& r, const std::vector<ActivityId>& after);
  // Marks `id` complete at `time`; appends the activities that became ready to `ready`.
  void complete(ActivityId id, double time, std::vector<ActivityId>& ready);

  ActivityRecord& operator[](ActivityId id) { return acts_[static_cast<size_t>(id - base_)]; }
  const ActivityRecord& operator[](ActivityId id) const { return acts_[static_cast<size_t>(id - base_)]; }
  size_t size() const { return static_cast<size_t>(base_) + acts_.size(); }  // activities ever added
  // Long runs (serving, failures) need not keep every activity: this drops the records of the
  // completed activities at the front once they are half of those kept, so memory follows what is
  // in flight, not the run's length. Dropped activities count as completed.
  void forget_completed();
  bool forgotten(ActivityId id) const { return id < base_; }

  RequestTable requests;
  std::vector<std::shared_ptr<const CollectivePlan>> plans;

 private:
  std::vector<ActivityRecord> acts_;           // activities base_, base_ + 1, ...
  std::vector<std::vector<ActivityId>> succ_;
  ActivityId base_ = 0;
  size_t done_prefix_ = 0;                     // leading kept records known to be completed
  std::unordered_map<int64_t, ActivityId> lane_tail_;
};

}  // namespace foresight::sim
