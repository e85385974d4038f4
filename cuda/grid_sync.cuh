// The grid-wide barrier of the persistent kernels (one launch runs every step; the blocks meet once
// per step). An arrival counter with release/acquire ordering: thread 0 of each block publishes
// the block's writes (fence) and adds 1; it then spins until the counter reaches
// blocks × (barriers passed so far). Measured on the H200 (../shared/GPU-NOTES.md) it costs the
// same as cooperative groups' grid.sync() (0.98 vs 1.03 µs) but its wait can be bounded: after
// `timeout_ns` without progress, or once another block has given up, it raises the fault word and
// every block leaves the kernel, so a lost block becomes a thrown error, never a hang.
// Kernels using it are launched cooperatively (launch_cooperative), which guarantees that every
// block is resident at once; the counter starts at 0 for each launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace frnn::cuda {

struct GridSync {
  unsigned* counter;        // device memory, zeroed before the launch: [0] arrivals, [1] abort
  int* fault;               // host-mapped word, read by the host after the stream synchronizes
  unsigned long long timeout_ns;
  int skip_block;           // a block that never arrives (fault-injection tests; -1 = none)
};

// Words at GridSync::counter: the arrival counter and the abort word; the floats of scratch a
// launch sets aside for them (rounded up, so what follows stays 16-byte aligned).
constexpr size_t kGridSyncWords = 2;
constexpr size_t kGridSyncScratchFloats = 4;

// Fault codes written to the fault word.
constexpr int kFaultBarrierTimeout = 1;

__device__ __forceinline__ unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__device__ __forceinline__ unsigned load_acquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// Barrier number `n` (1, 2, ...) of this launch. Returns false when the kernel must stop.
__device__ __forceinline__ bool grid_barrier(const GridSync& g, unsigned n) {
  __shared__ int stop;
  __syncthreads();
  if (threadIdx.x == 0) {
    stop = 0;
    if (static_cast<int>(blockIdx.x + blockIdx.y * gridDim.x) != g.skip_block) {
      __threadfence();
      atomicAdd(g.counter, 1u);
    }
    const unsigned target = n * gridDim.x * gridDim.y;
    const unsigned long long start = global_ns();
    // The abort word lives beside the counter in device memory: polling the host-mapped fault
    // word instead cost a PCIe round trip per poll from every block (W2 steps ran 100× slower).
    volatile unsigned* abort = g.counter + 1;
    while (load_acquire(g.counter) < target) {
      if (*abort != 0) {
        stop = 1;
        break;
      }
      if (global_ns() - start > g.timeout_ns) {
        *abort = 1;
        *reinterpret_cast<volatile int*>(g.fault) = kFaultBarrierTimeout;
        __threadfence_system();
        stop = 1;
        break;
      }
    }
  }
  __syncthreads();
  return stop == 0;
}

// Launches a kernel whose blocks meet at grid_barrier: all of them resident at once, or an error
// (cudaErrorCooperativeLaunchTooLarge) and nothing runs.
template <class... Args>
cudaError_t launch_cooperative(void (*kernel)(Args...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                               Args... args) {
  void* params[] = {static_cast<void*>(&args)...};
  return cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), grid, block, params, smem, stream);
}

}  // namespace frnn::cuda
