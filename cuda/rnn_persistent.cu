// Persistent recurrent kernels (rnn_persistent.h). A block owns the same tile as the per-step
// kernel (8 units × all their gates × R batch rows forward; 8 columns of dh × R rows backward;
// 16 of either for large batches) and keeps that tile's rows of W_hh (W_hhᵀ backward) in shared
// memory for the whole launch, so
// a step reads only h(t-1) (da(t)) from L2; the product and the epilogue are the per-step
// kernel's own code (same split of k, same order of sums: the two paths agree bit for bit
// wherever they pick the same product form).
#include "rnn_persistent.h"

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cuda_backend.h"
#include "cuda_check.cuh"
#include "grid_sync.cuh"
#include "kernels.cuh"
#include "recurrent_path.h"
#include "step_product.cuh"

namespace frnn::cuda {
namespace {

std::atomic<uint64_t> g_counts[6];  // indexed by StatSlot

constexpr int kBackCols = 8;  // dh columns per backward block: its W_hhᵀ rows fit twice per SM at W2

// ---- forward ----

// The tile's W_hh rows: row c = gate·U + uu holds W_hh[gate·H + min(u0 + uu, H - 1), :], zero past H.
__device__ void load_forward_weights(const float* w_hh, int H, int G, int U, int u0, float* wres) {
  const int stride = resident_stride(H), C = U * G;
  for (int e = threadIdx.x; e < C * stride; e += blockDim.x) {
    const int c = e / stride, k = e % stride;
    const int unit = min(u0 + c % U, H - 1);
    wres[e] = k < H ? w_hh[(static_cast<size_t>(c / U) * H + unit) * H + k] : 0.f;
  }
}

// U units per block: 8 (the per-step kernel's tile, two blocks per multiprocessor) or, for large
// batches, kWide = 16 (one block per multiprocessor): every block reads all of its rows of h(t-1)
// each step, so half as many unit tiles halve that L2 traffic (16 MB a step at W2's sizes).
constexpr int kWide = 16;
template <int U>
constexpr int kBlocksPerSm = U == kWide ? 1 : 2;

template <int G, int RPT, int U, bool kVec, bool kMma>
__global__ void __launch_bounds__(kSplitThreads, kBlocksPerSm<U>)
    rnn_forward_persistent_kernel(StepArgs a, float* h0, float* h1, float* c0, float* c1, GridSync sync) {
  constexpr int R = 4 * RPT, CPT = U / 8;  // CPT: columns per lane for each gate
  extern __shared__ __align__(16) float dyn[];
  __shared__ long xoff[R];
  const int H = a.H, stride = resident_stride(H);
  float* wres = dyn;
  float* work = dyn + U * G * stride;
  const int b0 = blockIdx.y * R, u0 = blockIdx.x * U;
  load_forward_weights(a.W, H, G, U, u0, wres);
  if (threadIdx.x < R) xoff[threadIdx.x] = static_cast<long>(min(b0 + static_cast<int>(threadIdx.x), a.B - 1)) * H;
  __syncthreads();
  const bool reset_before = a.mode == StepMode::GruRz;
  unsigned barrier = 0;
  for (int step = 0; step < a.T; ++step) {
    const int cur = step & 1;
    a.step = step;
    a.h_cur = cur ? h1 : h0, a.h_next = cur ? h0 : h1;
    a.c_cur = cur ? c1 : c0, a.c_next = cur ? c0 : c1;
    if constexpr (G == 3) {
      if (reset_before) {  // r, z from h(t-1); then, once every r*h(t-1) is out, n from it
        resident_product<RPT, 2 * CPT, kVec, kMma>(a.h_cur, xoff, wres, stride, H, work);
        tile_epilogue<2, R, U>(a, work, b0, u0);
        if (!grid_barrier(sync, ++barrier)) return;
        StepArgs n = a;
        n.mode = StepMode::GruN, n.b_hh = a.b_hh + 2 * H;
        resident_product<RPT, CPT, kVec, kMma>(a.rh, xoff, wres + 2 * U * stride, stride, H, work);
        tile_epilogue<1, R, U>(n, work, b0, u0);
        if (step + 1 < a.T && !grid_barrier(sync, ++barrier)) return;
        continue;
      }
    }
    resident_product<RPT, G * CPT, kVec, kMma>(a.h_cur, xoff, wres, stride, H, work);
    tile_epilogue<G, R, U>(a, work, b0, u0);
    if (step + 1 < a.T && !grid_barrier(sync, ++barrier)) return;
  }
}

// ---- backward ----

// A tile of W_hhᵀ rows: row c holds column min(j0 + c, H - 1) of W_hh over its rows
// [row0, row0 + width), zero past width. The reset-before GRU keeps its n block in a tile of its
// own, so each tile starts 16-byte aligned whatever H is.
__device__ void load_backward_weights(const float* w_hh, int H, int row0, int width, int CB, int j0, float* wres) {
  const int stride = resident_stride(width);
  for (int e = threadIdx.x; e < CB * stride; e += blockDim.x) {
    const int c = e / stride, m = e % stride;
    wres[e] = m < width ? w_hh[static_cast<size_t>(row0 + m) * H + min(j0 + c, H - 1)] : 0.f;
  }
}

// Shared floats of a backward block of CB columns: the r,z(,n) tile, the reset-before n tile,
// the work area.
template <int R, int CB>
__host__ __device__ size_t backward_smem_floats(int H, int M, bool reset_before) {
  return static_cast<size_t>(CB) * (resident_stride(M) + (reset_before ? resident_stride(H) : 0)) +
         resident_work_floats<R, CB>();
}

// CB columns of dh per block: kBackCols, or kWide for large batches (as the forward's U).
template <int RPT, int CB, bool kVec, bool kMma>
__global__ void __launch_bounds__(kSplitThreads, kBlocksPerSm<CB>)
    rnn_backward_persistent_kernel(ProductArgs pr, PointArgs pa, const float* w_hh, float* dh0, float* dh1,
                                   GridSync sync) {
  constexpr int R = 4 * RPT;
  extern __shared__ __align__(16) float dyn[];
  __shared__ long rows[R], xoff[R];
  const int H = pr.H, GH = pr.GH, stride = resident_stride(pr.M), n_stride = resident_stride(H);
  float* wres = dyn;
  float* wn = dyn + CB * stride;  // reset-before: W_hnᵀ
  float* work = wn + (pr.reset_before ? CB * n_stride : 0);
  const int b0 = blockIdx.y * R, j0 = blockIdx.x * CB;
  load_backward_weights(w_hh, H, 0, pr.M, CB, j0, wres);
  if (pr.reset_before) load_backward_weights(w_hh, H, 2 * H, H, CB, j0, wn);
  unsigned barrier = 0;
  for (int step = pr.T - 1; step >= 0; --step) {
    const int cur = (pr.T - 1 - step) & 1;
    float* dh_cur = cur ? dh1 : dh0;
    float* dh_prev = cur ? dh0 : dh1;
    if (threadIdx.x < R) {
      const int b = b0 + threadIdx.x;
      const long row = b < pr.B ? step_row(b, step, pr.T, pr.lengths, pr.reverse) : -1;
      rows[threadIdx.x] = row;
      xoff[threadIdx.x] = row >= 0 ? row * pr.lda : 0;  // ended rows read row 0; their result is dropped
    }
    __syncthreads();
    if (pr.reset_before) {  // d(r*h) = dn·W_hn and r's gradient, before the r,z product reads it
      resident_product<RPT, CB / 8, kVec, kMma>(pr.A + 2 * H, xoff, wn, n_stride, H, work);
      ProductArgs q = pr;
      q.out_kind = ProductOut::Plain, q.out = pr.drh, q.fuse_point = false;
      for (int e = threadIdx.x; e < R * CB; e += blockDim.x) {
        const int lr = e / CB, j = j0 + e % CB, b = b0 + lr;
        if (b >= pr.B || j >= H) continue;
        const size_t bj = static_cast<size_t>(b) * H + j;
        product_epilogue(q, bj, j, rows[lr], work[e]);
        if (rows[lr] >= 0) gru_reset_backward(H, GH, rows[lr], bj, j, pa.gates, pa.hprev, pr.drh, pa.da);
      }
      if (!grid_barrier(sync, ++barrier)) return;
    }
    ProductArgs p = pr;
    p.step = step, p.dh = dh_cur, p.out = dh_prev;
    p.fuse_point = step > 0;
    p.next = pa, p.next.step = step - 1, p.next.dh = dh_prev;
    resident_product<RPT, CB / 8, kVec, kMma>(pr.A, xoff, wres, stride, pr.M, work);
    for (int e = threadIdx.x; e < R * CB; e += blockDim.x) {
      const int lr = e / CB, j = j0 + e % CB, b = b0 + lr;
      if (b < pr.B && j < H) product_epilogue(p, static_cast<size_t>(b) * H + j, j, rows[lr], work[e]);
    }
    if (step > 0 && !grid_barrier(sync, ++barrier)) return;
  }
}

// ---- launch: pick the tile, check that the grid can be resident, launch cooperatively ----

// Rows per thread to try, best first: the per-step kernel's choice (the largest tile that still
// gives every multiprocessor a block), then larger tiles (fewer blocks, more likely resident).
template <class Try>
bool over_row_tiles(int B, int col_tiles, Try&& attempt) {
  const int first = split_k_rows_per_thread(B, col_tiles);
  for (const int rpt : {2, 4, 8})
    if (rpt >= first && attempt(rpt)) return true;
  return false;
}

template <int G, int RPT, int U>
bool forward_rows(cudaStream_t stream, const StepArgs& a, float* const h[2], float* const c[2], GridSync sync) {
  constexpr int R = 4 * RPT;
  const bool vec = a.H % 4 == 0 && aligned16(h[0]) && aligned16(h[1]) && aligned16(a.rh);
  const dim3 grid((a.H + U - 1) / U, (a.B + R - 1) / R);
  const size_t smem = (static_cast<size_t>(U) * G * resident_stride(a.H) + resident_work_floats<R, U * G>()) * sizeof(float);
  const auto go = [&](auto kernel) { return launch_if_resident(kernel, grid, kSplitThreads, smem, stream, a, h[0], h[1], c[0], c[1], sync); };
  // Only 16-byte loads for the 32-row tiles: their scalar-load forms spill.
  if constexpr (RPT == 8 && (G == 4 || U == kWide)) {
    if (!vec) return false;
    return a.tf32 ? go(rnn_forward_persistent_kernel<G, RPT, U, true, true>) : go(rnn_forward_persistent_kernel<G, RPT, U, true, false>);
  } else {
    if constexpr (RPT >= 4)
      if (a.tf32) return vec ? go(rnn_forward_persistent_kernel<G, RPT, U, true, true>) : go(rnn_forward_persistent_kernel<G, RPT, U, false, true>);
    return vec ? go(rnn_forward_persistent_kernel<G, RPT, U, true, false>) : go(rnn_forward_persistent_kernel<G, RPT, U, false, false>);
  }
}

// Whether a batch is large enough for the wide tile: its 32-row narrow grid needs more than one
// block per multiprocessor (then halving the unit tiles halves the re-reads of the step's input).
bool wants_wide(int B, int cols, int narrow) {
  const int tiles = (cols + narrow - 1) / narrow;
  return split_k_rows_per_thread(B, tiles) == 8 && static_cast<long>(tiles) * ((B + 31) / 32) > multiprocessor_count();
}

template <int G>
bool forward_cell(cudaStream_t stream, const StepArgs& a, float* const h[2], float* const c[2], GridSync sync) {
  if (wants_wide(a.B, a.H, kUnitsPerBlock) && forward_rows<G, 8, kWide>(stream, a, h, c, sync)) return true;
  return over_row_tiles(a.B, (a.H + kUnitsPerBlock - 1) / kUnitsPerBlock, [&](int rpt) {
    return rpt == 8 ? forward_rows<G, 8, kUnitsPerBlock>(stream, a, h, c, sync)
                    : rpt == 4 ? forward_rows<G, 4, kUnitsPerBlock>(stream, a, h, c, sync)
                               : forward_rows<G, 2, kUnitsPerBlock>(stream, a, h, c, sync);
  });
}

template <int RPT, int CB>
bool backward_rows(cudaStream_t stream, const ProductArgs& pr, const PointArgs& pa, const float* w_hh,
                   float* const dh[2], GridSync sync) {
  constexpr int R = 4 * RPT;
  const bool vec = pr.GH % 4 == 0 && pr.H % 4 == 0 && aligned16(pr.A);
  const dim3 grid((pr.H + CB - 1) / CB, (pr.B + R - 1) / R);
  const size_t smem = backward_smem_floats<R, CB>(pr.H, pr.M, pr.reset_before) * sizeof(float);
  const auto go = [&](auto kernel) { return launch_if_resident(kernel, grid, kSplitThreads, smem, stream, pr, pa, w_hh, dh[0], dh[1], sync); };
  if constexpr (CB == kWide) {  // 16-byte loads only (large batches)
    if (!vec) return false;
    return pr.tf32 ? go(rnn_backward_persistent_kernel<RPT, CB, true, true>) : go(rnn_backward_persistent_kernel<RPT, CB, true, false>);
  } else {
    if constexpr (RPT >= 4)
      if (pr.tf32) return vec ? go(rnn_backward_persistent_kernel<RPT, CB, true, true>) : go(rnn_backward_persistent_kernel<RPT, CB, false, true>);
    return vec ? go(rnn_backward_persistent_kernel<RPT, CB, true, false>) : go(rnn_backward_persistent_kernel<RPT, CB, false, false>);
  }
}

// The common decision: whether to try, and what a refusal means.
template <class Launch>
bool persistent_or_fallback(const char* what, int T, const PersistentRun& run, cudaStream_t stream, int slot,
                            Launch&& launch) {
  const Path path = requested_path();
  // One step gains nothing from resident weights, and generation runs one step per call.
  if (path == Path::Stepwise || (path == Path::Auto && T < 2) || !cooperative_supported()) {
    if (path == Path::Persistent) throw std::runtime_error("FUSEDRNN_CUDA_RECURRENT=persistent: this device has no cooperative launch");
    ++g_counts[slot + 2];
    return false;
  }
  reset_grid_sync(run.counter, stream);
  if (launch(make_grid_sync(run.counter, run.fault))) {
    ++g_counts[slot];
    return true;
  }
  if (path == Path::Persistent)
    throw std::runtime_error(std::string("FUSEDRNN_CUDA_RECURRENT=persistent: this ") + what +
                             " does not fit the persistent kernel (its W_hh tiles exceed the GPU's shared memory)");
  ++g_counts[slot + 2];
  return false;
}

}  // namespace

bool persistent_rnn_forward(cudaStream_t stream, const StepArgs& a, float* const h[2], float* const c[2],
                            const PersistentRun& run) {
  return persistent_or_fallback("forward layer", a.T, run, stream, 0, [&](GridSync sync) {
    switch (a.mode) {
      case StepMode::Lstm: return forward_cell<4>(stream, a, h, c, sync);
      case StepMode::GruAfter:
      case StepMode::GruRz: return forward_cell<3>(stream, a, h, c, sync);
      default: return forward_cell<1>(stream, a, h, c, sync);
    }
  });
}

bool persistent_rnn_backward(cudaStream_t stream, const ProductArgs& pr, const PointArgs& pa, const float* w_hh,
                             float* const dh[2], const PersistentRun& run) {
  return persistent_or_fallback("backward layer", pr.T, run, stream, 1, [&](GridSync sync) {
    if (wants_wide(pr.B, pr.H, kBackCols) && backward_rows<8, kWide>(stream, pr, pa, w_hh, dh, sync)) return true;
    return over_row_tiles(pr.B, (pr.H + kBackCols - 1) / kBackCols, [&](int rpt) {
      return rpt == 8 ? backward_rows<8, kBackCols>(stream, pr, pa, w_hh, dh, sync)
                      : rpt == 4 ? backward_rows<4, kBackCols>(stream, pr, pa, w_hh, dh, sync)
                                 : backward_rows<2, kBackCols>(stream, pr, pa, w_hh, dh, sync);
    });
  });
}

void count_launch(StatSlot slot) { ++g_counts[static_cast<int>(slot)]; }

int resident_blocks_per_sm(const void* kernel, int threads, size_t smem) {
  struct Key {
    const void* kernel;
    int threads;
    size_t smem;
    int device;
    bool operator<(const Key& o) const {
      if (kernel != o.kernel) return kernel < o.kernel;
      if (threads != o.threads) return threads < o.threads;
      return smem != o.smem ? smem < o.smem : device < o.device;
    }
  };
  static std::mutex mu;
  static std::map<Key, int> cache;
  Key key{kernel, threads, smem, 0};
  cudaGetDevice(&key.device);
  std::lock_guard<std::mutex> lock(mu);
  const auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  // The dynamic limit is what a block may have beside the kernel's static shared memory; it is
  // one value per function, so it is raised once to the most, not to each size asked for.
  const Key raised{kernel, 0, 0, key.device};
  auto limit = cache.find(raised);
  if (limit == cache.end()) {
    cudaFuncAttributes attr{};
    check(cudaFuncGetAttributes(&attr, kernel), "cudaFuncGetAttributes(persistent)");
    const int dynamic = smem_optin_limit() - static_cast<int>(attr.sharedSizeBytes);
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, dynamic),
          "cudaFuncSetAttribute(persistent)");
    limit = cache.emplace(raised, dynamic).first;
  }
  if (smem > static_cast<size_t>(limit->second)) return cache[key] = 0;
  int per_sm = 0;
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem),
        "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  return cache[key] = per_sm;
}

RecurrentStats recurrent_stats() {
  return RecurrentStats{g_counts[0].load(), g_counts[1].load(), g_counts[2].load(),
                        g_counts[3].load(), g_counts[4].load(), g_counts[5].load()};
}

}  // namespace frnn::cuda
