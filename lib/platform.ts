// What a failed load of the CPU addon tells the user. npm's os/cpu/libc fields would refuse the
// install before this message could be seen (and would refuse a build from a clone elsewhere), so
// the package installs anywhere and says here, at load, what it runs on and how to build it.

/** The machine as the loader sees it; injectable so tests need not run on another platform. */
export interface HostPlatform {
  /** `process.platform`, e.g. 'linux'. */
  platform: string;
  /** `process.arch`, e.g. 'x64'. */
  arch: string;
  /** 'glibc <version>', 'musl' or 'none' (not Linux). */
  libc: string;
}

/** Where the shipped prebuilds run (scripts/prebuild.sh checks the CPU one's symbol versions). */
export const SUPPORTED_PLATFORMS =
  'linux-x64 and linux-arm64 with glibc >= 2.28 (CPU prebuilds); the CUDA prebuild (linux-x64) also needs glibc >= 2.34 and an NVIDIA driver for CUDA 13 (R580 or newer)';

/** The page on platforms: the prebuilds, and building from a clone on macOS, Windows, musl and CUDA on arm64. */
export const PLATFORMS_DOC = 'https://github.com/fusedrnn/fusedrnn/blob/main/docs/platforms.md';

/** How to get an addon where no prebuild fits: a clone's `npm ci` runs `prepare`, which builds it. */
export const BUILD_FROM_CLONE =
  'to build it yourself: git clone https://github.com/fusedrnn/fusedrnn && cd fusedrnn && npm ci ' +
  `(needs a C++17 compiler and cmake; nvcc adds the CUDA part), then install that folder; per platform: ${PLATFORMS_DOC}`;

/** The running process's platform, architecture and C library. */
export function currentHost(): HostPlatform {
  let libc = 'none';
  if (process.platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    libc = header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl';
  }
  return { platform: process.platform, arch: process.arch, libc };
}

/**
 * The error thrown when no usable CPU addon is found or it fails to load.
 * @param cause - what the loader reported (node-gyp-build's search or the dynamic linker's error).
 * @param root - the folder that was searched.
 * @param host - the machine; default {@link currentHost}.
 * @returns an Error naming the platform, what is supported and how to build from a clone, with
 *   `cause` attached.
 */
export function nativeLoadError(cause: unknown, root: string, host: HostPlatform = currentHost()): Error {
  const detail = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0]!.trim();
  const here = `${host.platform}-${host.arch} (${host.libc})`;
  return new Error(
    `fusedrnn: no native addon loads on ${here} from ${root}: ${detail}. ` +
      `Supported: ${SUPPORTED_PLATFORMS}. Elsewhere, ${BUILD_FROM_CLONE}.`,
    { cause },
  );
}
