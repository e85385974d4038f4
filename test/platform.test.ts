// An unsupported platform (issue 17): where no addon fits, the error names the platform, what is
// supported and how to build from a clone, instead of node-gyp-build's bare "No native build was
// found". An empty folder stands in for a machine without a matching prebuild, and a faked host
// for another platform, so the test does not depend on the machine it runs on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCpu, packageRoot } from '../lib/native.js';
import { BUILD_FROM_CLONE, SUPPORTED_PLATFORMS, currentHost, nativeLoadError } from '../lib/platform.js';

const empty = mkdtempSync(join(tmpdir(), 'fusedrnn-platform-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('unsupported platform', () => {
  it('a folder with no build for this machine: the error names this host, the folder, what is supported and how to build', () => {
    const host = currentHost();
    let thrown: unknown;
    try {
      loadCpu(empty);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    const message = (thrown as Error).message;
    expect(message).toContain(`${process.platform}-${process.arch} (${host.libc})`);
    expect(message).toContain(empty);
    expect(message).toContain(`Supported: ${SUPPORTED_PLATFORMS}`);
    expect(message).toContain(BUILD_FROM_CLONE);
    expect(message).toContain('docs/platforms.md');
    // node-gyp-build's own finding stays readable, and its error is kept as the cause.
    expect(message).toMatch(/No native build was found/);
    expect((thrown as Error).cause).toBeInstanceOf(Error);
  });

  it('another platform is named as the loader saw it', () => {
    const err = nativeLoadError(new Error('No native build was found for platform=darwin arch=arm64\n  more'), '/pkg', {
      platform: 'darwin',
      arch: 'arm64',
      libc: 'none',
    });
    expect(err.message).toMatch(/^fusedrnn: no native addon loads on darwin-arm64 \(none\) from \/pkg: No native build was found for platform=darwin arch=arm64\. Supported: linux-x64 and linux-arm64 with glibc >= 2\.28/);
    expect(err.message).not.toContain('more');
    expect(err.message).toContain('npm ci');
  });

  it('a musl Linux is told apart from glibc', () => {
    const err = nativeLoadError('Error relocating fusedrnn.glibc.node: __memcpy_chk: symbol not found', '/pkg', {
      platform: 'linux',
      arch: 'x64',
      libc: 'musl',
    });
    expect(err.message).toContain('linux-x64 (musl)');
    expect(err.message).toContain('symbol not found');
  });

  it('on this machine the package root loads, and the host reads as glibc on Linux', () => {
    const { addon, path } = loadCpu(packageRoot);
    expect(path.startsWith(packageRoot)).toBe(true);
    expect(typeof addon.buildInfo).toBe('function');
    if (process.platform === 'linux') expect(currentHost().libc).toMatch(/^(glibc \d+\.\d+|musl)$/);
  });
});
