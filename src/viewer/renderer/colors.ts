// Colour maps for heat maps and cost colouring. Turbo is Google's polynomial fit (public domain), written out
// because no colour-map package is in the dependency set and it is six lines.
export type Rgb = [number, number, number];

export function turbo(t: number): Rgb {
  const x = Math.max(0, Math.min(1, t));
  const r =
    0.13572138 +
    x * (4.6153926 + x * (-42.66032258 + x * (132.13108234 + x * (-152.94239396 + x * 59.28637943))));
  const g =
    0.09140261 + x * (2.19418839 + x * (4.84296658 + x * (-14.18503333 + x * (4.27729857 + x * 2.82956604))));
  const b =
    0.1066733 +
    x * (12.64194608 + x * (-60.58204836 + x * (110.36276771 + x * (-89.90310912 + x * 27.34824973))));
  return [r, g, b].map((v) => Math.round(255 * Math.max(0, Math.min(1, v)))) as Rgb;
}

/** Green → yellow → red for costs (low is good). */
export function costColor(t: number): Rgb {
  const x = Math.max(0, Math.min(1, t));
  return x < 0.5
    ? [Math.round(46 + 2 * x * 195), 204, 113 - Math.round(2 * x * 98)]
    : [231, Math.round(204 - (x - 0.5) * 2 * 128), 60];
}

export const hex = (rgb: Rgb): string => `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

export const COLORS = {
  planned: 0xff2fd0,
  gtTrajectory: 0x19e68c,
  replanned: 0xffe14d,
  compare: 0x27d3ff,
  occupancy: [61, 139, 255] as Rgb,
  future: [255, 94, 58] as Rgb,
  compareOccupancy: [170, 90, 255] as Rgb,
  drivable: [70, 78, 90] as Rgb,
  lane: [230, 230, 230] as Rgb,
  egoPath: 0x8e8e8e,
  ego: 0xffffff,
};
