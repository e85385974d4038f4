// FRNN_HD marks small functions that both the C++ code and the CUDA kernels call, so scalar math
// (Philox, gate slots) is written once for both.
#pragma once

#if defined(__CUDACC__)
#define FRNN_HD __host__ __device__ __forceinline__
#else
#define FRNN_HD inline
#endif
