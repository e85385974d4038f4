// Instruction-set variants of the fp32 CPU kernels. The same kernel source (isa_kernels.inc) is
// compiled once per variant: without any -m flag (generic, runs on every x86-64 and elsewhere),
// with -mavx2 -mfma, with -mavx512f, and on arm64 for NEON with a taller tile; avx512bf16 and
// neonbf16 are the AVX-512 and NEON ones with the bf16-weight products on the CPU's bf16
// dot-product instruction and the int8 ones on its int8 dot product (VNNI, SDOT). The variant is picked once at load from the CPU's features,
// overridable by env FUSEDRNN_CPU_ISA (a name of kIsaNames) or set_cpu_isa() for tests.
#pragma once

#include <cstdint>

#include "../gates.h"  // the gate slots isa_kernels.inc indexes
#include "bf16.h"  // kBf16PanelWidth: the bf16 products' packed layout
#include "int8.h"  // kInt8PanelWidth: the int8 products' packed layout

namespace frnn::cpu {

// Adam's per-step scalars (optim.cc derives them from AdamConfig and the step).
struct AdamScalars {
  double beta1, beta2, step_size, bc2_sqrt, eps, grad_scale, weight_decay, decay;
  bool scaled, decoupled;
};

// Raw-pointer entry points only: the variant TUs must not instantiate shared inline code
// (std:: templates), or the linker could keep an AVX-512 copy for the generic callers.
struct IsaKernels {
  const char* name;  // nullptr: this variant was not compiled into the build
  int mr, nr;        // register tile of the SGEMM micro-kernel (rows of op(A), columns of op(B))
  // C[mc,nc] += Ap·Bp over kc (C = Ap·Bp when overwrite). Ap: ceil(mc/mr) panels of [kc][mr];
  // Bp: ceil(nc/nr) panels of [kc][nr], b_panel_stride floats apart. Both zero-padded to whole panels.
  void (*macro_kernel)(int mc, int nc, int kc, const float* ap, const float* bp,
                       long b_panel_stride, float* c, long ldc, bool overwrite);
  // The same with A not packed: [mc, kc] rows of a, lda apart.
  void (*macro_kernel_rows)(int mc, int nc, int kc, const float* a, long lda, const float* bp,
                            long b_panel_stride, float* c, long ldc, bool overwrite);
  // y[n] += alpha * dot(W[n,:K], x) for n < N (the M == 1, op(B) = Wᵀ case: no packing).
  void (*gemv_rows)(int N, int K, float alpha, const float* W, long ldw, const float* x, float* y);
  // y[:N] += alpha * sum_k x[k] * B[k,:N] (the M == 1, op(B) = B case).
  void (*gemv_cols)(int N, int K, float alpha, const float* B, long ldb, const float* x,
                    long incx, float* y);
  // y[:N] += x[:K] · P, P packed as macro_kernel's Bp (the M == 1 product by packed weights).
  void (*gemv_packed)(int N, int K, const float* x, const float* P, long b_panel_stride, float* y);
  // y[:N] += x · P with bfloat16 operands and fp32 sums: P = ceil(N/32) panels of
  // [k_pairs][32] uint32 (two bf16 weights, k even in the low half; bf16.h's pack_bf16),
  // panel_stride apart; x2 = x as bf16 pairs likewise. Pairs of x that are 0 are skipped.
  void (*gemv_bf16)(int N, int k_pairs, const uint32_t* x2, const uint32_t* P, long panel_stride, float* y);
  // y[:N] += x · P with int8 operands (int8.h): P = ceil(N/32) panels of [k_quads][32] words of
  // four unsigned weight bytes (q + 128), panel_stride apart, column n's scale w_scales[n]; xq =
  // the input row's quads of signed bytes, its scale and sum of q (quantize_row). Quads of x that
  // are 0 are skipped. y[n] += fp32(sum - 128 * x_sum) * (x_scale * w_scales[n]).
  void (*gemv_int8)(int N, int k_quads, const uint32_t* xq, float x_scale, int32_t x_sum, const uint32_t* P,
                    long panel_stride, const float* w_scales, float* y);
  // In place over n floats. Accuracy: isa_kernels.inc (exp_approx).
  void (*sigmoid)(float* x, long n);
  void (*tanh)(float* x, long n);
  // One row of one recurrent step, forward and backward (rnn.cc's loops: layouts and meaning
  // there). peep and hn nullable.
  void (*lstm_step)(int H, float* a, const float* r_hh, const float* b_hh, const float* peep, float* c, float* h);
  void (*lstm_step_backward)(int H, const float* gates, const float* cprev, const float* cnew, const float* peep,
                             const float* dh, float* dc, float* d);
  void (*gru_step)(int H, float* a, const float* r_hh, const float* b_hh, float* hn, float* h);
  void (*gru_step_backward)(int H, const float* gates, const float* hprev, const float* hn, const float* dh,
                            float* d, float* dh_row);
  // dst[j] += sum over r < rows of src[r*ld + j], for j < cols (bias gradients), rows in order.
  void (*add_column_sums)(long rows, int cols, const float* src, long ld, float* dst);
  // Adam/AdamW over n fp32 parameters, arithmetic in double as optim.cc's reference.
  void (*adam)(long n, float* params, const float* grads, float* m, float* v, const AdamScalars& s);
  // Whether adam would write only finite values (reads only).
  bool (*adam_finite)(long n, const float* params, const float* grads, const float* m, const float* v,
                      const AdamScalars& s);
};

extern const IsaKernels kIsaGeneric, kIsaAvx2, kIsaAvx512, kIsaAvx512Bf16, kIsaNeon, kIsaNeonBf16;

// Every variant's name on any architecture (the one list: the binding's checks and messages, the
// typings' test), nullptr-terminated; a build holds the ones of its architecture.
extern const char* const kIsaNames[];

// The variant in use.
const IsaKernels& isa();
// Selects a variant by name (one of kIsaNames, or "auto" = best supported). Returns false,
// changing nothing, when the name is unknown, not compiled in, or the CPU lacks it. Not to be
// called while kernels run (packed operands depend on the tile shape).
bool set_cpu_isa(const char* name);
// Whether this build and this CPU can run the named variant.
bool cpu_isa_supported(const char* name);

}  // namespace frnn::cpu
