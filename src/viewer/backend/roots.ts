// File access only under folders the user opened: every path the renderer names is resolved (symlinks too) and
// must lie inside one of the allowed roots. Roots come from dialogs, command-line arguments, remembered folders and,
// in browser mode, from the user's folder picker behind the session token.
import { realpathSync } from 'node:fs';
import { isAbsolute, parse, relative, resolve, sep } from 'node:path';
import { SpikedriveError } from '../../util/index.ts';

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    throw new SpikedriveError(`${path} does not exist`, {
      subject: path,
      fix: 'Check the path, or open another folder.',
    });
  }
}

/** Whether `child` is `root` or lies below it (both already resolved). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export class FolderGuard {
  readonly #roots = new Set<string>();

  /** The resolved roots, sorted. */
  get roots(): string[] {
    return [...this.#roots].sort();
  }

  /** Allows a folder (resolved); the filesystem root itself is refused, it would allow everything. */
  allow(folder: string): string {
    const resolved = real(resolve(folder));
    if (parse(resolved).root === resolved) {
      throw new SpikedriveError(`refusing to open the whole filesystem (${resolved})`, {
        subject: resolved,
        fix: 'Open the dataset or run folder itself.',
      });
    }
    this.#roots.add(resolved);
    return resolved;
  }

  isAllowed(path: string): boolean {
    try {
      const resolved = real(resolve(path));
      return [...this.#roots].some((root) => isInside(root, resolved));
    } catch {
      return false;
    }
  }

  /** The resolved path if it lies inside an allowed root; otherwise a SpikedriveError naming it. */
  resolveInside(path: string): string {
    if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
      throw new SpikedriveError('an empty or malformed path was requested', {
        subject: String(path),
        fix: 'Request a file inside a folder you opened.',
      });
    }
    const resolved = real(resolve(path));
    for (const root of this.#roots) if (isInside(root, resolved)) return resolved;
    throw new SpikedriveError(`${path} is outside the folders you opened`, {
      subject: path,
      fix: 'Open its folder first (File → Open dataset… / Open run…).',
    });
  }
}
