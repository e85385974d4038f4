// The contract of the native addon: everything lib/ may call. Validation happens in lib/; the
// addon re-checks sizes and ranges so a caller that bypasses lib/ gets an error, never a crash.

import type { NativeModelConstructor } from './model.js';

/** The element type of a model's parameters. */
export type DType = 'float32' | 'float64';

/** An instruction-set variant of the fp32 CPU kernels (x86-64: the first four; arm64: generic and the NEON ones). */
export type CpuIsaName = 'generic' | 'avx2' | 'avx512' | 'avx512bf16' | 'neon' | 'neonbf16';

/** What the addon was compiled with (native/binding/build_info.cc). */
export interface BuildInfo {
  /** The CUDA backend is compiled in (cmake-js build with nvcc found). */
  cuda: boolean;
  /** CMake's CUDA_ARCHITECTURES, comma-separated, e.g. "75-real,80-real,90-real,90-virtual"; "" without CUDA. */
  cudaArchitectures: string;
  /** CUDART_VERSION compiled against (13000 = 13.0); 0 without CUDA. */
  cudaRuntimeVersion: number;
  /** NAPI_VERSION the addon was compiled for. */
  napiVersion: number;
  /** Highest Node-API version of the running Node. */
  runtimeNapiVersion: number;
  buildSystem: 'cmake-js' | 'node-gyp' | string;
  /** e.g. "gcc 12.2.0". */
  compiler: string;
  /** __cplusplus, e.g. 201703. */
  cplusplus: number;
  buildType: 'Release' | 'Debug';
  /** C++ exceptions enabled (NODE_ADDON_API_CPP_EXCEPTIONS). */
  exceptions: boolean;
}

/** One CUDA device as {@link NativeAddon.cudaProbe} saw it. */
export interface CudaDeviceInfo {
  name: string;
  /** "major.minor", e.g. "9.0". */
  computeCapability: string;
  /** Bytes. */
  totalMemory: number;
  multiProcessorCount: number;
  /** Code this build has for the device: machine code, PTX to JIT, or none. */
  code: 'sass' | 'ptx' | 'none';
  /** The probe kernel ran on this device and wrote the expected values (only device 0 is probed). */
  kernelOk: boolean;
  /** Why kernelOk is false. */
  error?: string;
}

/** Result of cudaProbe(): never throws; every CUDA error becomes `reason`. */
export interface CudaProbeResult {
  /** Device 0 exists, this build has code for it, and the probe kernel ran correctly. */
  ok: boolean;
  /** One line: why ok is false ("built without CUDA", "no NVIDIA driver: ...") or a summary of device 0. */
  reason: string;
  /** First cudaError_t met, 0 when none (35 = cudaErrorInsufficientDriver, 100 = cudaErrorNoDevice). */
  errorCode: number;
  deviceCount: number;
  /** cudaDriverGetVersion (0 when no driver is loadable). */
  driverVersion: number;
  /** cudaRuntimeGetVersion of the statically linked runtime (0 without CUDA). */
  runtimeVersion: number;
  devices: CudaDeviceInfo[];
}

/**
 * The raw native addon as {@link loadNative} returns it. Prefer {@link Model}: it validates every argument
 * and queues calls; the addon re-checks sizes and ranges, so a bad call is an error, never a crash.
 */
export interface NativeAddon {
  Model: NativeModelConstructor;
  /** @returns what the addon was compiled with (CUDA or not, architectures, compiler, Node-API version). */
  buildInfo(): BuildInfo;
  /** Queries the CUDA devices and runs a tiny kernel; costs a CUDA context on a GPU machine. */
  cudaProbe(): CudaProbeResult;
  /**
   * How many CUDA recurrent layer calls (forward, backward) ran their time loop in one persistent
   * launch or step by step since the process started (env FUSEDRNN_CUDA_RECURRENT picks:
   * 'auto' | 'persistent' | 'stepwise'). Generation: persistentDecode counts persistent decoder
   * launches (one per ≤ 256 characters after the prime step), stepwiseDecode the generate calls
   * whose characters ran one by one instead. All 0 in a build without CUDA.
   */
  cudaRecurrentStats(): {
    persistentForward: number;
    persistentBackward: number;
    stepwiseForward: number;
    stepwiseBackward: number;
    persistentDecode: number;
    stepwiseDecode: number;
  };
  /**
   * The machine's memory limits in bytes (Infinity where there is none): lib/memory-budget.ts.
   * deviceMemory: CUDA device `device`'s total memory (cudaMemGetInfo); Infinity without CUDA,
   * without `device`, or when it cannot be read.
   */
  memoryLimits(device?: number): { physical: number; cgroup: number; addressSpace: number; deviceMemory: number };
  /** Test-only: make the n-th allocation from now through the project's allocation points fail (0 disarms). */
  testing: {
    /** Arms the failure: the n-th allocation from now fails (0 disarms). */
    failAllocation(n: number): void;
    /** @returns how many allocations remain before the armed failure fires (0 when disarmed). */
    allocationCountdown(): number;
    /** Arms a failure of the n-th CPU pool task run in a parallel region from now (0 disarms). */
    failPoolTask(n: number): void;
    /** @returns how many such tasks remain before it fires (0 when disarmed or fired). */
    poolTaskCountdown(): number;
    /** Arms a failure of the n-th thread start from now (CPU pool workers, a CPU model's own thread; 0 disarms). */
    failThreadStart(n: number): void;
    /** @returns how many thread starts remain before it fires (0 when disarmed or fired). */
    threadStartCountdown(): number;
    /** The fp32 CPU generation's gang (native/cpu/decode.h): -1 sized by the work (default), 0 off (the per-character loop), n members. */
    cpuDecodeMembers(n: number): void;
  };
  /** The instruction-set variant of the fp32 CPU kernels (env FUSEDRNN_CPU_ISA picks it at load). */
  cpuIsa: {
    /** @returns the variant the fp32 CPU kernels use now. */
    active(): CpuIsaName;
    /** Every variant name on any architecture (native/cpu/cpu_isa.cc's list). */
    names: CpuIsaName[];
    /** Whether this build and this CPU can run it. */
    supported(name: CpuIsaName | 'auto'): boolean;
    /** Switches variant (tests, benchmarks); false when unsupported. Not while a model computes. */
    set(name: CpuIsaName | 'auto'): boolean;
    /** Threads of the CPU kernels' pool (env FUSEDRNN_CPU_THREADS caps it). */
    threads(): number;
    /** Test hook: a [M,K] · op(b) [K,N] (b stored [N,K] when transB) by the bf16 inference product. */
    bf16Product(M: number, N: number, K: number, a: Float32Array, b: Float32Array, transB: boolean): Float32Array;
    /** Test hook: the same by the int8 inference product (native/cpu/int8.h's quantization). */
    int8Product(M: number, N: number, K: number, a: Float32Array, b: Float32Array, transB: boolean): Float32Array;
  };
}
