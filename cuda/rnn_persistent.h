// The persistent recurrent kernels: one cooperative launch runs all T steps of a layer-direction,
// each block holding its slice of W_hh in shared memory for the whole loop and the blocks meeting
// at a grid barrier once per step (twice for the reset-before GRU). cuda/README.md has the design.
// The per-step kernels of rnn_forward.cu / rnn_backward.cu remain the fallback; which path runs
// is decided here (FUSEDRNN_CUDA_RECURRENT), so the launchers only ask.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "grid_sync.cuh"
#include "rnn_backward_step.cuh"
#include "rnn_forward_step.cuh"

namespace frnn::cuda {

// Scratch floats the persistent path needs beside the per-step path's (the barrier's words).
constexpr size_t kPersistentScratch = kGridSyncScratchFloats;

// What the host passes to a persistent launch besides the step arguments.
struct PersistentRun {
  unsigned* counter;  // device scratch, zeroed here before the launch
  int* fault;         // the backend's host-mapped fault word (grid_sync.cuh)
};

// Runs the whole forward time loop of a.mode's cell (Lstm, GruAfter, GruRz = the reset-before
// GRU, Rnn) persistently and returns true, or returns false having launched nothing (the
// per-step loop must run). The state ping-pongs between h[0]/h[1] (c[0]/c[1]) as in the per-step
// loop: after T steps it is in h[T % 2]. a's per-step fields are set by the kernel.
bool persistent_rnn_forward(cudaStream_t stream, const StepArgs& a, float* const h[2], float* const c[2],
                            const PersistentRun& run);

// The backward loop from step T-1 down to 0 (the pointwise part of step T-1 must already have run,
// as in the per-step loop): per step the recurrent-transpose product by W_hh (read from w_hh
// itself, no transpose) with the next step's pointwise part in its epilogue. pr and pa as the
// per-step loop fills them (pr.WT unused); dh ping-pongs like its loop. drh: reset-before scratch.
bool persistent_rnn_backward(cudaStream_t stream, const ProductArgs& pr, const PointArgs& pa, const float* w_hh,
                             float* const dh[2], const PersistentRun& run);

}  // namespace frnn::cuda
