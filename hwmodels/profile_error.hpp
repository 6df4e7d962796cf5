#pragma once
// How well a fitted or tabulated model predicts measurements it was not built from.
namespace foresight::hw {

// Held-out (k-fold) prediction error of one fitted model or one op kind.
struct HeldOutError {
  int points = 0;               // points that were predicted while held out
  int folds = 0;
  double mape = 0;              // mean |pred - measured| / measured
  double max_ape = 0;
  int extrapolated = 0;         // held-out points that fell outside their training range
  // The same over held-out points inside their training range: the accuracy an unflagged estimate has.
  int inside_points = 0;
  double inside_mape = 0;
  double median_ape = 0;        // median |pred - measured| / measured (tables report it)
  bool available() const { return points > 0; }
};

}  // namespace foresight::hw
