// SGEMM driver: blocking, packing, threading. The inner loops are the variant's (cpu_isa.h).
#include "sgemm.h"

#include <algorithm>
#include <vector>

#include "bf16.h"
#include "int8.h"
#include "cpu_isa.h"
#include "scratch_arena.h"
#include "thread_pool.h"
#include "weight_cache.h"

namespace frnn::cpu {
namespace {

// KC x NR panels of B stay in L1 across a row panel's sweep; MC x KC of packed A in L2.
constexpr int KC = 256;
constexpr int MC = 96;   // a multiple of every variant's MR (4, 6, 8)
constexpr int NC = 2048;
// Below this many multiply-adds a product runs on the calling thread only. A recurrent step's
// product by held packed weights (sgemm_packed_b) splits from kPackedParallelMacs (sgemm.h): each
// thread finds its slice of the weights in its own cache, step after step. A one-off product (sgemm) waits for
// 10x that: its operands were just written by this thread, and a worker pulling its share across
// cores, often waking from sleep first, cost more than it saved (W5's 1280-row, H = 20 input
// projections and weight gradients of ~2M multiply-adds: 1.44 -> 1.05 ms a step alone).
constexpr double kParallelOneOffMacs = 4.0e6;
// A matrix-vector product is worth splitting much earlier: it is bound by memory, not arithmetic.
constexpr double kParallelGemvMacs = 6.4e4;

// Panels of nr columns of op(B)[k0:k0+kc, n0:n0+nc], each [kc][nr], zero-padded.
void pack_b(bool tb, const float* B, int ldb, int k0, int kc, int n0, int nc, int nr,
            long panel_stride, float* out) {
  if (!tb) {
    // Each row of B read once, dealt to every panel (plain loops: a copy call per panel row
    // would cost more than its nr floats).
    for (int k = 0; k < kc; ++k) {
      const float* src = B + static_cast<long>(k0 + k) * ldb + n0;
      for (int j = 0; j < nc; j += nr) {
        float* p = out + (j / nr) * panel_stride + static_cast<long>(k) * nr;
        if (j + nr <= nc)
          for (int c = 0; c < nr; ++c) p[c] = src[j + c];
        else
          for (int c = 0; c < nr; ++c) p[c] = j + c < nc ? src[j + c] : 0.0f;
      }
    }
    return;
  }
  for (int j = 0; j < nc; j += nr) {
    float* p = out + (j / nr) * panel_stride;
    const int w = std::min(nr, nc - j);
    for (int k = 0; k < kc; ++k, p += nr) {
      for (int c = 0; c < w; ++c) p[c] = B[static_cast<long>(n0 + j + c) * ldb + k0 + k];
      for (int c = w; c < nr; ++c) p[c] = 0.0f;
    }
  }
}

// Panels of mr rows of alpha*op(A)[m0:m0+mc, k0:k0+kc], each [kc][mr], zero-padded. A is read
// along its storage rows: transposed A (the weight gradients' daᵀ, rows a page apart) is read a
// whole mc-wide row segment per k, dealt to every panel, so each row is visited once; plain A
// is written strided into the L1-resident panels.
void pack_a(bool ta, const float* A, int lda, float alpha, int m0, int mc, int k0, int kc, int mr,
            float* out) {
  const long panel = static_cast<long>(kc) * mr;
  if (ta) {
    for (int k = 0; k < kc; ++k) {
      const float* src = A + static_cast<long>(k0 + k) * lda + m0;
      float* p = out + static_cast<long>(k) * mr;
      int i = 0;
      // Loops, not copy calls: a call per panel would cost more than its mr floats.
      for (; i + mr <= mc; i += mr, p += panel)
        for (int r = 0; r < mr; ++r) p[r] = alpha * src[i + r];
      if (i < mc)
        for (int r = 0; r < mr; ++r) p[r] = i + r < mc ? alpha * src[i + r] : 0.0f;
    }
    return;
  }
  for (int i = 0; i < mc; i += mr, out += panel) {
    const int h = std::min(mr, mc - i);
    for (int r = 0; r < h; ++r) {
      const float* src = A + static_cast<long>(m0 + i + r) * lda + k0;
      float* p = out + r;
      for (int k = 0; k < kc; ++k) p[static_cast<long>(k) * mr] = alpha * src[k];
    }
    for (int r = h; r < mr; ++r)
      for (int k = 0; k < kc; ++k) out[static_cast<long>(k) * mr + r] = 0.0f;
  }
}

// Packing space that grows to the largest block once and is then reused: the calling thread's
// active arena (scratch_arena.h), so a model's calls find theirs warm on whichever libuv thread
// runs them (a buffer per thread cost each new thread its page faults: W5's first steps ran
// 2-3 ms instead of 1-1.5); a pool worker uses its own.
float* packing_buffer(ScratchSlot slot, size_t elems) {
  std::vector<float>& b = active_arena().slot<float>(slot);
  if (b.size() < elems) b.resize(elems);
  return b.data();
}

// C[m0:m1, n0:n1] *= beta. The GEMMs scale each part's own block on its thread (scaling all of
// C first, on the caller, kept the other threads waiting), and with beta 0 not at all: their
// first K block then stores instead of adding (gemm_block).
void scale_c(int m0, int m1, int n0, int n1, float beta, float* C, int ldc) {
  if (beta == 1.0f) return;
  for (int i = m0; i < m1; ++i) {
    float* c = C + static_cast<long>(i) * ldc;
    if (beta == 0.0f)
      std::fill(c + n0, c + n1, 0.0f);
    else
      for (int j = n0; j < n1; ++j) c[j] *= beta;
  }
}

// C[m0:m1, n0:n1] += alpha*op(A)·op(B) on the calling thread (= when beta_zero: the first K
// block stores). bp_full: op(B) already packed over all K (sgemm_packed_b), panels K*nr apart,
// starting at column n0; else packed here per block.
// A plain, unscaled A is read in place, not packed: a block of it is at most MC x KC and stays in
// cache, and a broadcast costs the same from its rows as from a panel (measured 2-15% faster on
// the W1-W3 shapes, one and two threads; a transposed A is still packed: reading it in place was
// slower for W2's weight gradients).
void gemm_block(const IsaKernels& kr, bool ta, bool tb, int m0, int m1, int n0, int n1, int K,
                float alpha, const float* A, int lda, const float* B, int ldb, const float* bp_full,
                float* C, int ldc, bool beta_zero) {
  const int mr = kr.mr, nr = kr.nr;
  float* ap = packing_buffer(kGemmPackedA, static_cast<size_t>(MC) * KC);
  for (int jc = n0; jc < n1; jc += NC) {
    const int nc = std::min(NC, n1 - jc);
    const int panels = (nc + nr - 1) / nr;
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const float* bp;
      long stride;
      if (bp_full) {
        stride = static_cast<long>(K) * nr;
        bp = bp_full + ((jc - n0) / nr) * stride + static_cast<long>(pc) * nr;
      } else {
        stride = static_cast<long>(kc) * nr;
        float* buf = packing_buffer(kGemmPackedB, static_cast<size_t>(panels) * KC * nr);
        pack_b(tb, B, ldb, pc, kc, jc, nc, nr, stride, buf);
        bp = buf;
      }
      const bool overwrite = beta_zero && pc == 0;
      for (int ic = m0; ic < m1; ic += MC) {
        const int mc = std::min(MC, m1 - ic);
        float* c = C + static_cast<long>(ic) * ldc + jc;
        if (!ta && alpha == 1.0f) {
          kr.macro_kernel_rows(mc, nc, kc, A + static_cast<long>(ic) * lda + pc, lda, bp, stride, c, ldc, overwrite);
          continue;
        }
        pack_a(ta, A, lda, alpha, ic, mc, pc, kc, mr, ap);
        kr.macro_kernel(mc, nc, kc, ap, bp, stride, c, ldc, overwrite);
      }
    }
  }
}

struct Split {
  int parts;
  bool by_columns;
};

// Columns when there are enough panels for every thread (B is then packed once per thread and
// A read by all), else rows in whole row panels; and rows for a tall transposed A (below).
Split split_for(bool ta, int M, int N, int K, int mr, int nr) {
  const int threads = pool_threads();
  if (sgemm_is_one_thread(M, N, K)) return {1, true};
  const int col_panels = (N + nr - 1) / nr, row_panels = (M + mr - 1) / mr;
  // A transposed A is packed by every thread of a column split: with more rows than columns
  // (the weight gradients, daᵀ·h) splitting rows packs less (min of 6 alternating runs, 2 threads:
  // 2-5% faster on the W1-W3 weight-gradient shapes).
  if (ta && M > N && row_panels >= 2 * threads) return {std::min(threads, row_panels), false};
  if (col_panels >= 2 * threads || col_panels >= row_panels) return {std::min(threads, col_panels), true};
  return {std::min(threads, row_panels), false};
}

// [begin, end) of part p when `count` units of `unit` are dealt to `parts` parts.
inline void range_of(int p, int parts, int total, int unit, int* begin, int* end) {
  const int units = (total + unit - 1) / unit;
  *begin = std::min(total, static_cast<int>(static_cast<long>(units) * p / parts) * unit);
  *end = std::min(total, static_cast<int>(static_cast<long>(units) * (p + 1) / parts) * unit);
}

}  // namespace

bool sgemm_is_one_thread(int M, int N, int K) {
  return pool_threads() == 1 || static_cast<double>(M) * N * K < kParallelOneOffMacs;
}

void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(0, M, 0, N, beta, C, ldc);
    return;
  }
  if (alpha == 1.0f && !ta) {
    if (const PackedMatrix held = held_packed_weights(B, tb, K, N, ldb)) {
      if (held.bf16) {
        scale_c(0, M, 0, N, beta, C, ldc);
        sgemm_bf16_b(M, N, K, A, lda, held.bf16, C, ldc);
      } else if (held.int8) {
        scale_c(0, M, 0, N, beta, C, ldc);
        sgemm_int8_b(M, N, K, A, lda, held.int8, held.int8_scales, C, ldc);
      } else {
        sgemm_packed_b(M, N, K, A, lda, held.fp32, beta, C, ldc);
      }
      return;
    }
  }
  const IsaKernels& kr = isa();
  if (M == 1) {  // a matrix-vector product: packing would cost more than it saves
    scale_c(0, 1, 0, N, beta, C, ldc);
    // Bound by reading B, so a large one is split by output columns over the pool: each thread
    // streams its own slice of B (generation reads every weight once per character).
    const int parts = static_cast<double>(N) * K >= kParallelGemvMacs ? std::min(pool_threads(), (N + 15) / 16) : 1;
    parallel_for(parts, [&](int p) {
      int b, e;
      range_of(p, parts, N, 16, &b, &e);
      if (b >= e) return;
      if (tb)
        kr.gemv_rows(e - b, K, alpha, B + static_cast<long>(b) * ldb, ldb, A, C + b);
      else
        kr.gemv_cols(e - b, K, alpha, B + b, ldb, A, ta ? lda : 1, C + b);
    });
    return;
  }
  const Split s = split_for(ta, M, N, K, kr.mr, kr.nr);
  parallel_for(s.parts, [&](int p) {
    int b, e;
    if (s.by_columns) {
      range_of(p, s.parts, N, kr.nr, &b, &e);
      if (b >= e) return;
      if (beta != 0.0f) scale_c(0, M, b, e, beta, C, ldc);
      gemm_block(kr, ta, tb, 0, M, b, e, K, alpha, A, lda, B, ldb, nullptr, C, ldc, beta == 0.0f);
    } else {
      range_of(p, s.parts, M, kr.mr, &b, &e);
      if (b >= e) return;
      if (beta != 0.0f) scale_c(b, e, 0, N, beta, C, ldc);
      gemm_block(kr, ta, tb, b, e, 0, N, K, alpha, A, lda, B, ldb, nullptr, C, ldc, beta == 0.0f);
    }
  });
}

size_t sgemm_packed_b_elems(int K, int N) {
  const int nr = isa().nr;
  return static_cast<size_t>((N + nr - 1) / nr) * nr * static_cast<size_t>(K > 0 ? K : 1);
}

void sgemm_pack_b(bool tb, int K, int N, const float* B, int ldb, float* packed) {
  const int nr = isa().nr;
  pack_b(tb, B, ldb, 0, K, 0, N, nr, static_cast<long>(K) * nr, packed);
}

void sgemm_packed_b(int M, int N, int K, const float* A, int lda, const float* packed, float beta,
                    float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    scale_c(0, M, 0, N, beta, C, ldc);
    return;
  }
  const IsaKernels& kr = isa();
  const int threads = pool_threads();
  const int col_panels = (N + kr.nr - 1) / kr.nr;
  const long panel_stride = static_cast<long>(K) * kr.nr;
  if (M == 1) {
    // gemv_packed skips the rows of P where x is 0: count the work it will really do (a one-hot
    // input reads one row), so a product that small is not handed to the pool at all.
    int nonzero = 0;
    for (int k = 0; k < K; ++k) nonzero += A[k] != 0.0f;
    scale_c(0, 1, 0, N, beta, C, ldc);
    const int parts = static_cast<double>(N) * nonzero >= kParallelGemvMacs ? std::min(threads, col_panels) : 1;
    parallel_for(parts, [&](int p) {
      int b, e;
      range_of(p, parts, N, kr.nr, &b, &e);
      if (b < e) kr.gemv_packed(e - b, K, A, packed + (b / kr.nr) * panel_stride, panel_stride, C + b);
    });
    return;
  }
  const int parts = (threads == 1 || static_cast<double>(M) * N * K < kPackedParallelMacs)
                        ? 1 : std::min(threads, col_panels);
  parallel_for(parts, [&](int p) {
    int b, e;
    range_of(p, parts, N, kr.nr, &b, &e);
    if (b >= e) return;
    if (beta != 0.0f) scale_c(0, M, b, e, beta, C, ldc);
    gemm_block(kr, false, false, 0, M, b, e, K, 1.0f, A, lda, nullptr, 0, packed + (b / kr.nr) * panel_stride, C, ldc,
               beta == 0.0f);
  });
}

void sgemm_bf16_b(int M, int N, int K, const float* A, int lda, const uint32_t* packed, float* C, int ldc) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  const int k_pairs = (K + 1) / 2;
  thread_local std::vector<uint32_t> pairs;
  pairs.resize(static_cast<size_t>(M) * k_pairs);
  long nonzero = 0;  // pairs the kernel will multiply (it skips zero pairs: one-hot rows)
  for (int m = 0; m < M; ++m) {
    uint32_t* row = pairs.data() + static_cast<size_t>(m) * k_pairs;
    to_bf16_pairs(K, A + static_cast<long>(m) * lda, row);
    for (int kp = 0; kp < k_pairs; ++kp) nonzero += row[kp] != 0;
  }
  const IsaKernels& kr = isa();
  const long panel_stride = bf16_panel_stride(K);
  const int panels = (N + kBf16PanelWidth - 1) / kBf16PanelWidth;
  const int parts = 2.0 * N * nonzero >= kParallelGemvMacs ? std::min(pool_threads(), panels) : 1;
  const uint32_t* x2 = pairs.data();
  parallel_for(parts, [&](int p) {
    int b, e;
    range_of(p, parts, N, kBf16PanelWidth, &b, &e);
    if (b >= e) return;
    for (int m = 0; m < M; ++m)
      kr.gemv_bf16(e - b, k_pairs, x2 + static_cast<size_t>(m) * k_pairs, packed + (b / kBf16PanelWidth) * panel_stride,
                   panel_stride, C + static_cast<long>(m) * ldc + b);
  });
}

void sgemm_int8_b(int M, int N, int K, const float* A, int lda, const uint32_t* packed, const float* scales, float* C,
                  int ldc) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  const int k_quads = (K + 3) / 4;
  thread_local std::vector<uint32_t> quads;
  thread_local std::vector<Int8Row> rows;
  quads.resize(static_cast<size_t>(M) * k_quads);
  rows.resize(M);
  long nonzero = 0;  // quads the kernel will multiply (it skips zero quads: one-hot rows)
  for (int m = 0; m < M; ++m) {
    uint32_t* row = quads.data() + static_cast<size_t>(m) * k_quads;
    rows[m] = quantize_row(K, A + static_cast<long>(m) * lda, row);
    for (int q = 0; q < k_quads; ++q) nonzero += row[q] != 0;
  }
  const IsaKernels& kr = isa();
  const long panel_stride = int8_panel_stride(K);
  const int panels = (N + kInt8PanelWidth - 1) / kInt8PanelWidth;
  const int parts = 4.0 * N * nonzero >= kParallelGemvMacs ? std::min(pool_threads(), panels) : 1;
  const uint32_t* xq = quads.data();
  const Int8Row* xr = rows.data();
  parallel_for(parts, [&](int p) {
    int b, e;
    range_of(p, parts, N, kInt8PanelWidth, &b, &e);
    if (b >= e) return;
    for (int m = 0; m < M; ++m)
      kr.gemv_int8(e - b, k_quads, xq + static_cast<size_t>(m) * k_quads, xr[m].scale, xr[m].sum,
                   packed + (b / kInt8PanelWidth) * panel_stride, panel_stride, scales + b, C + static_cast<long>(m) * ldc + b);
  });
}

}  // namespace frnn::cpu
