// Sampling rules shared by the CPU and CUDA sample ops, so both backends keep the same tokens.
#pragma once

#include "philox.h"  // FRNN_HD

namespace frnn {

// Top-p over the `kept` most likely tokens (order[0..kept), most likely first, e[] their
// unnormalised probabilities): how many the nucleus keeps, i.e. the smallest prefix whose mass
// reaches top_p of theirs, and at least one.
FRNN_HD int nucleus_size(const double* e, const int* order, int kept, double top_p) {
  double mass = 0.0;
  for (int j = 0; j < kept; ++j) mass += e[order[j]];
  const double target = top_p * mass;
  double cum = 0.0;
  int j = 0;
  while (j < kept) {
    cum += e[order[j]];
    ++j;
    if (cum >= target) break;
  }
  return j > 1 ? j : 1;
}

}  // namespace frnn
