// Atomic file replacement: a crash at any point leaves either the old file or the new one,
// never a torn mix. The temp file lives in the target's directory so rename() stays on one
// filesystem (an atomic replace); fsync before rename orders data before the name, and the
// directory fsync makes the rename itself durable. Missing parent directories are created, and
// a failure names the caller's path: the temp file is an implementation detail.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const TEMP_MARKER = '.tmp-';

export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    // The cleanup's own failure (e.g. ENOTDIR when the directory never existed) must not hide why.
    await rm(temp, { force: true }).catch(() => undefined);
    throw namingTarget(error, path, temp);
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some filesystems (and Windows) refuse to open or fsync a directory; the rename is done.
  } finally {
    await handle?.close();
  }
}

// Keeps the error's class and errno fields (code, syscall) so callers can still branch on them.
function namingTarget(error: unknown, path: string, temp: string): unknown {
  if (!(error instanceof Error)) return error;
  const systemError = error as NodeJS.ErrnoException;
  if (systemError.path !== undefined) systemError.path = path;
  error.message = `cannot write ${path}: ${error.message.split(temp).join(path)}`;
  return error;
}
