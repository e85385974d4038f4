// A corpus that ships inside the package, for demos run without a text of one's own: the
// package's own README and compiled sources (plain English and code, a few hundred kB).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './native.js';

/**
 * A corpus that ships inside the package (its README and compiled JavaScript), for demos run without a text of one's own.
 * @returns the text, a few hundred kB.
 * @throws Error from the file system when the package's `dist/` folder cannot be read.
 */
export function builtinCorpus(): string {
  const parts: string[] = [];
  const readme = join(packageRoot, 'README.md');
  try {
    parts.push(readFileSync(readme, 'utf8'));
  } catch {
    // a stripped install may lack the README; the sources are enough
  }
  const dist = join(packageRoot, 'dist');
  for (const file of readdirSync(dist).sort()) {
    if (file.endsWith('.js')) parts.push(readFileSync(join(dist, file), 'utf8'));
  }
  return parts.join('\n');
}
