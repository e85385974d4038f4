// What generation (W4) could gain from half-size weights: the three 1024x256 one-row products
// a W1-model character multiplies (3 MB of fp32), by the mainline's packed fp32 kernel
// (isa_kernels.inc's gemv_packed) and by an fp16-weight variant (vcvtph2ps + FMA), on one and
// on two threads (each thread its own column slice every time, as the pool's task affinity gives).
// Build: g++ -O3 -mavx512f -mf16c -mfma -std=c++17 -pthread bench/kernels/gemv-weights.cc
// Measured 2026-11-23 on the 2-core development VM (best of 3 x 500; whole runs vary ~2x when
// the VM is busy): fp32 40.1 / 21.2 us, fp16 29.4 / 16.7 us (1 / 2 threads). fp16 is bound by
// conversion + FMA rather than memory, so it would save ~5 us of W4's ~32-42 us per character.
// 2026-12-06, same VM, two runs: bf16 vdpbf16ps 19.2 / 17.6 us on one thread (1.5 MB: more than
// one core's L2) and 8.2 / 8.5 us on two (768 KB a thread, L2-resident): the floor of W4 bf16's
// three products on this machine; the package's generation measured 14-17 us per character then,
// so 6-9 us of it is hand-offs, the head, sampling and the per-character driver.
// 2026-12-06 on a Zen 4 VM, int8 vpdpbusd on the package's layout: 7.4-8.6 us on one thread,
// 3.9-4.7 on two (bf16 there 8.0-9.1 on two): ~95 GB/s a core either way, so W4 int8's products
// take about half of bf16's.
#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../native/cpu/cpu_isa.h"

namespace frnn::cpu {
namespace isa_under_test {
#define FRNN_VW 16
#define FRNN_MR 8
#include "../../native/cpu/isa_kernels.inc"
}  // namespace isa_under_test
}  // namespace frnn::cpu

using frnn::cpu::isa_under_test::gemv_packed;
constexpr int kPanel = 32, N = 1024, K = 256, kMatrices = 3;

// y[:nc] += x · P, P fp16 panels [K][32] (the mainline's layout in half precision).
void gemv_packed_f16(int nc, int k_size, const float* x, const uint16_t* P, long panel_stride, float* y) {
  for (int j = 0; j < nc; j += 4 * kPanel) {
    const uint16_t* p = P + (j / kPanel) * panel_stride;
    __m512 acc[8];
    for (__m512& a : acc) a = _mm512_setzero_ps();
    for (int k = 0; k < k_size; ++k) {
      const __m512 xk = _mm512_set1_ps(x[k]);
      const uint16_t* pk = p + static_cast<long>(k) * kPanel;
      for (int q = 0; q < 8; ++q) {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pk + (q / 2) * panel_stride + (q % 2) * 16));
        acc[q] = _mm512_fmadd_ps(xk, _mm512_cvtph_ps(h), acc[q]);
      }
    }
    for (int q = 0; q < 8; ++q) {
      float* out = y + j + (q / 2) * kPanel + (q % 2) * 16;
      _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), acc[q]));
    }
  }
}

// y[:nc] += x · P with bf16 weight pairs: P panels [K/2][32] of uint32 (k even in the low half),
// x as bf16 pairs. `dot`: AVX512_BF16's vdpbf16ps (32 multiply-adds an instruction); otherwise
// each half widened to fp32 by a shift or a mask and two FMAs.
template <bool dot>
__attribute__((target("avx512f,avx512bf16")))
void gemv_packed_bf16(int nc, int k_pairs, const uint32_t* x2, const uint32_t* P, long panel_stride, float* y) {
  for (int j = 0; j < nc; j += 4 * kPanel) {
    const uint32_t* p = P + (j / kPanel) * panel_stride;
    __m512 acc[8], acc_hi[8];
    for (int q = 0; q < 8; ++q) acc[q] = _mm512_setzero_ps(), acc_hi[q] = _mm512_setzero_ps();
    for (int kp = 0; kp < k_pairs; ++kp) {
      if (x2[kp] == 0) continue;
      const uint32_t* pk = p + static_cast<long>(kp) * kPanel;
      if constexpr (dot) {
        const __m512bh xk = (__m512bh)_mm512_set1_epi32(static_cast<int>(x2[kp]));
        for (int q = 0; q < 8; ++q) {
          const __m512i w = _mm512_loadu_si512(pk + (q / 2) * panel_stride + (q % 2) * 16);
          acc[q] = _mm512_dpbf16_ps(acc[q], (__m512bh)w, xk);
        }
      } else {
        const __m512 x0 = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(x2[kp] << 16)));
        const __m512 x1 = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(x2[kp] & 0xffff0000u)));
        for (int q = 0; q < 8; ++q) {
          const __m512i w = _mm512_loadu_si512(pk + (q / 2) * panel_stride + (q % 2) * 16);
          acc[q] = _mm512_fmadd_ps(x0, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)), acc[q]);
          acc_hi[q] = _mm512_fmadd_ps(x1, _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32(static_cast<int>(0xffff0000u)))), acc_hi[q]);
        }
      }
    }
    for (int q = 0; q < 8; ++q) {
      float* out = y + j + (q / 2) * kPanel + (q % 2) * 16;
      _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), _mm512_add_ps(acc[q], acc_hi[q])));
    }
  }
}

// y[:nc] += x · P with int8 operands as the package packs them (native/cpu/int8.h): panels
// [K/4][32] of words holding four unsigned weight bytes, x as quads of signed bytes; vpdpbusd
// sums four products a lane. Only the int32 sums are timed (the scaling is a few ns a column).
__attribute__((target("avx512f,avx512vnni")))
void gemv_packed_i8(int nc, int k_quads, const uint32_t* xq, const uint32_t* P, long panel_stride, int32_t* y) {
  for (int j = 0; j < nc; j += 4 * kPanel) {
    const uint32_t* p = P + (j / kPanel) * panel_stride;
    __m512i acc[8];
    for (__m512i& a : acc) a = _mm512_setzero_si512();
    for (int q = 0; q < k_quads; ++q) {
      if (xq[q] == 0) continue;
      const __m512i x = _mm512_set1_epi32(static_cast<int>(xq[q]));
      const uint32_t* pq = p + static_cast<long>(q) * kPanel;
      for (int v = 0; v < 8; ++v) acc[v] = _mm512_dpbusd_epi32(acc[v], _mm512_loadu_si512(pq + (v / 2) * panel_stride + (v % 2) * 16), x);
    }
    for (int v = 0; v < 8; ++v) {
      int32_t* out = y + j + v * 16;
      _mm512_storeu_si512(out, _mm512_add_epi32(_mm512_loadu_si512(out), acc[v]));
    }
  }
}

template <typename Product>
double micros_per_character(int threads, Product product) {
  constexpr int kReps = 500;
  std::atomic<int> go{0}, done{0};
  std::thread helper;
  if (threads == 2)
    helper = std::thread([&] {
      for (int it = 1; it <= 3 * kReps; ++it) {  // one product per ticket the caller hands out
        while (go.load() < it) _mm_pause();
        product(1, 2);
        done.fetch_add(1);
      }
    });
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int it = 0; it < kReps; ++it) {
      const int ticket = round * kReps + it + 1;
      if (threads == 2) go.store(ticket);
      product(0, threads);
      if (threads == 2)
        while (done.load() < ticket) _mm_pause();
    }
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kReps;
    best = us < best ? us : best;
  }
  if (helper.joinable()) helper.join();
  return best;
}

int main() {
  const long panel_stride = static_cast<long>(K) * kPanel;
  std::vector<float> w32(static_cast<size_t>(kMatrices) * N * K), x(K), y(N);
  std::vector<uint16_t> w16(w32.size());
  for (size_t i = 0; i < w32.size(); ++i) {
    w32[i] = static_cast<float>((i * 2654435761u) % 2001) * 1e-3f - 1.0f;
    w16[i] = static_cast<uint16_t>(_cvtss_sh(w32[i], 0));
  }
  for (int k = 0; k < K; ++k) x[k] = 0.5f - static_cast<float>(k % 7) * 0.1f;
  // bf16 pairs, truncated (this measures speed only); panels [K/2][32] per 32 columns.
  auto bf16_of = [](float f) { uint32_t u; std::memcpy(&u, &f, 4); return u >> 16; };
  const long pair_stride = static_cast<long>(K / 2) * kPanel;
  std::vector<uint32_t> w2(w32.size() / 2), x2(K / 2);
  for (int m = 0; m < kMatrices; ++m)
    for (int panel = 0; panel < N / kPanel; ++panel)
      for (int kp = 0; kp < K / 2; ++kp)
        for (int c = 0; c < kPanel; ++c) {
          const float* src = w32.data() + static_cast<long>(m) * N * K + panel * panel_stride;
          w2[static_cast<long>(m) * N * K / 2 + panel * pair_stride + kp * kPanel + c] =
              bf16_of(src[(2 * kp) * kPanel + c]) | bf16_of(src[(2 * kp + 1) * kPanel + c]) << 16;
        }
  for (int kp = 0; kp < K / 2; ++kp) x2[kp] = bf16_of(x[2 * kp]) | bf16_of(x[2 * kp + 1]) << 16;
  auto slice = [&](int part, int parts, int* b, int* e) {
    *b = N / kPanel * part / parts * kPanel, *e = N / kPanel * (part + 1) / parts * kPanel;
  };
  auto fp32 = [&](int part, int parts) {
    int b, e;
    slice(part, parts, &b, &e);
    for (int m = 0; m < kMatrices; ++m)
      gemv_packed(e - b, K, x.data(), w32.data() + static_cast<long>(m) * N * K + (b / kPanel) * panel_stride, panel_stride, y.data() + b);
  };
  auto fp16 = [&](int part, int parts) {
    int b, e;
    slice(part, parts, &b, &e);
    for (int m = 0; m < kMatrices; ++m)
      gemv_packed_f16(e - b, K, x.data(), w16.data() + static_cast<long>(m) * N * K + (b / kPanel) * panel_stride, panel_stride, y.data() + b);
  };
  auto bf16 = [&](bool dot) {
    return [&, dot](int part, int parts) {
      int b, e;
      slice(part, parts, &b, &e);
      for (int m = 0; m < kMatrices; ++m) {
        const uint32_t* w = w2.data() + static_cast<long>(m) * N * K / 2 + (b / kPanel) * pair_stride;
        if (dot) gemv_packed_bf16<true>(e - b, K / 2, x2.data(), w, pair_stride, y.data() + b);
        else gemv_packed_bf16<false>(e - b, K / 2, x2.data(), w, pair_stride, y.data() + b);
      }
    };
  };
  const bool has_dot = __builtin_cpu_supports("avx512bf16");
  // int8: a quarter of the fp32 bytes, panels [K/4][32] words.
  const long quad_stride = static_cast<long>(K / 4) * kPanel;
  std::vector<uint32_t> w8(w32.size() / 4, 0x85817f03u), xq(K / 4, 0x01ff7f81u);
  std::vector<int32_t> yi(N);
  auto int8 = [&](int part, int parts) {
    int b, e;
    slice(part, parts, &b, &e);
    for (int m = 0; m < kMatrices; ++m)
      gemv_packed_i8(e - b, K / 4, xq.data(), w8.data() + static_cast<long>(m) * N * K / 4 + (b / kPanel) * quad_stride, quad_stride, yi.data() + b);
  };
  if (__builtin_cpu_supports("avx512vnni"))
    for (int threads : {1, 2})
      std::printf("%d thread%s: int8 vpdpbusd %.1f us\n", threads, threads == 1 ? "" : "s", micros_per_character(threads, int8));
  for (int threads : {1, 2})
    std::printf("%d thread%s: bf16 widened %.1f us, bf16 vdpbf16ps %s us\n", threads, threads == 1 ? "" : "s",
                micros_per_character(threads, bf16(false)),
                has_dot ? std::to_string(micros_per_character(threads, bf16(true))).c_str() : "(no AVX512_BF16)");
  for (int threads : {1, 2})
    std::printf("%d thread%s: fp32 %.1f us, fp16 %.1f us per character (3 MB of fp32 weights)\n", threads,
                threads == 1 ? "" : "s", micros_per_character(threads, fp32), micros_per_character(threads, fp16));
}
