// Max error of the fp32 vector sigmoid/tanh (native/cpu/isa_kernels.inc) against double libm,
// over every 61st float in [-20, 20] (about 35 M points, all binades near 0 included).
// Build: g++ -O2 -mavx2 -mfma -std=c++17 bench/kernels/activation-error.cc
#include <immintrin.h>  // isa_kernels.inc's AVX2 broadcasts and masked moves

#include <cmath>
#include <cstdio>
#include <vector>

#include "../../native/cpu/cpu_isa.h"

namespace frnn::cpu {
namespace isa_under_test {
#define FRNN_VW 8
#define FRNN_MR 6
#include "../../native/cpu/isa_kernels.inc"
}  // namespace isa_under_test
}  // namespace frnn::cpu

int main() {
  std::vector<float> xs;
  for (float x = -20.0f; x < 20.0f;) {
    xs.push_back(x);
    for (int k = 0; k < 61; ++k) x = std::nextafter(x, 30.0f);
  }
  std::vector<float> s = xs, t = xs;
  frnn::cpu::isa_under_test::sigmoid_inplace(s.data(), static_cast<long>(s.size()));
  frnn::cpu::isa_under_test::tanh_inplace(t.data(), static_cast<long>(t.size()));
  double s_abs = 0, s_rel = 0, t_abs = 0, t_rel = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i];
    const double sr = 1.0 / (1.0 + std::exp(-x)), tr = std::tanh(x);
    s_abs = std::fmax(s_abs, std::fabs(s[i] - sr));
    s_rel = std::fmax(s_rel, std::fabs(s[i] - sr) / sr);
    t_abs = std::fmax(t_abs, std::fabs(t[i] - tr));
    if (tr != 0) t_rel = std::fmax(t_rel, std::fabs(t[i] - tr) / std::fabs(tr));
  }
  std::printf("points %zu\nsigmoid max abs %.3g max rel %.3g\ntanh    max abs %.3g max rel %.3g\n",
              xs.size(), s_abs, s_rel, t_abs, t_rel);
  std::printf("(float32 ulp at 1.0 is %.3g)\n", std::nextafter(1.0f, 2.0f) - 1.0f);
}
