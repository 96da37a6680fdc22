// Preferences (window size, last folders, playback, energy profile) in one JSON file, validated on read so a
// damaged file falls back to defaults instead of stopping the app, and written atomically.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../util/index.ts';
import { type Preferences, preferencesSchema } from '../api/protocol.ts';

/** `$SPIKEDRIVE_CONFIG/preferences.json`, else `$XDG_CONFIG_HOME/spikedrive/…` or `~/.config/spikedrive/…`. */
export function defaultPreferencesPath(): string {
  const base =
    process.env.SPIKEDRIVE_CONFIG ??
    join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'spikedrive');
  return join(base, 'preferences.json');
}

export interface PreferencesStore {
  readonly path: string | null;
  get(): Preferences;
  /** Merges and saves; returns what is stored. */
  set(update: Preferences): Promise<Preferences>;
  /** Puts a folder first in a recent list (at most 10, no duplicates). */
  remember(kind: 'recentDatasets' | 'recentRuns', folder: string): Promise<Preferences>;
  /** Problems met reading the file (shown once as a notice). */
  readonly warnings: string[];
}

/** Opens the preferences file (null path: in memory only, for tests and `--no-preferences`). */
export function openPreferences(path: string | null = defaultPreferencesPath()): PreferencesStore {
  const warnings: string[] = [];
  let current: Preferences = {};
  if (path && existsSync(path)) {
    try {
      const parsed = preferencesSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
      if (parsed.success) current = parsed.data;
      else
        warnings.push(`${path} has invalid preferences (${parsed.error.issues[0]?.message}); using defaults`);
    } catch (error) {
      warnings.push(`${path} is not valid JSON (${(error as Error).message}); using defaults`);
    }
  }
  const save = async (next: Preferences): Promise<Preferences> => {
    const checked = preferencesSchema.parse(next);
    current = checked;
    if (path) await writeJsonAtomic(path, checked);
    return checked;
  };
  return {
    path,
    warnings,
    get: () => structuredClone(current),
    set: (update) => save({ ...current, ...update }),
    remember: (kind, folder) => {
      const list = [folder, ...(current[kind] ?? []).filter((f) => f !== folder)].slice(0, 10);
      return save({ ...current, [kind]: list });
    },
  };
}
