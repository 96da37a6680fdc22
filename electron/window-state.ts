// Window size and position remembered between starts (in the preferences file), clamped so a window saved on a
// monitor that is gone opens on one that exists.
import type { Preferences } from '../src/viewer/api/protocol.ts';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const DEFAULT_WINDOW = { width: 1600, height: 1000 };

/** BrowserWindow bounds from the saved state and the displays' work areas. */
export function windowBounds(
  saved: Preferences['window'],
  displays: readonly Rect[],
): Partial<Rect> & { width: number; height: number } {
  const area = displays[0] ?? { x: 0, y: 0, width: DEFAULT_WINDOW.width, height: DEFAULT_WINDOW.height };
  const width = Math.min(saved?.width ?? DEFAULT_WINDOW.width, area.width);
  const height = Math.min(saved?.height ?? DEFAULT_WINDOW.height, area.height);
  if (saved?.x === undefined || saved.y === undefined) return { width, height };
  const { x, y } = saved;
  // Keep it where it was only if its title bar lands on some display.
  const visible = displays.some(
    (d) => x + 40 >= d.x && x + 40 <= d.x + d.width && y >= d.y && y + 20 <= d.y + d.height,
  );
  return visible ? { x, y, width, height } : { width, height };
}

/** What to save when the window closes. */
export function windowStateToSave(bounds: Rect, maximized: boolean): NonNullable<Preferences['window']> {
  return {
    width: Math.max(400, Math.round(bounds.width)),
    height: Math.max(300, Math.round(bounds.height)),
    x: Math.round(bounds.x),
    y: Math.round(bounds.y),
    maximized,
  };
}
