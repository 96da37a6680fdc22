import sharp, { type OverlayOptions } from 'sharp';
import { SpikedriveError } from '../../../src/util/index.ts';
import type { Box, Matrix } from '../geometry/index.ts';
import { viewPoints } from '../geometry/index.ts';
import { categoryColor, hex, MAP_LAYER_COLORS, type Rgb } from './colors.ts';

/** The devkit `render_sample` camera order: front row left to right, then the back row. */
export const CAMERA_LAYOUT = [
  'CAM_FRONT_LEFT',
  'CAM_FRONT',
  'CAM_FRONT_RIGHT',
  'CAM_BACK_LEFT',
  'CAM_BACK',
  'CAM_BACK_RIGHT',
] as const;

export interface CameraPanel {
  channel: string;
  /** The image file; undefined when the sample has no such camera (the tile says so). */
  imagePath?: string;
  /** 3×3 K of the full-size image. */
  intrinsic?: Matrix;
  /** Full image size in pixels (the sample_data's width/height). */
  width: number;
  height: number;
  /** Boxes in this camera's frame (as `getSampleData` returns them). */
  boxes: Box[];
}

export interface BevPanel {
  /** Half the side of the square, metres (the panel shows ±rangeM around the ego). */
  rangeM: number;
  /** Boxes in the flat ego frame (x forward, y left). */
  boxes: Box[];
  /** Ego positions (x, y) in the same frame at earlier and later samples of the scene, in time order. */
  egoPast: [number, number][];
  egoFuture: [number, number][];
  /**
   * Map layers as `getMapMask` gives them for a patch (ego x, ego y, 2·range, 2·range) at the ego yaw:
   * maskSizePx × maskSizePx, row index along local y (left), column along local x (forward).
   */
  mapLayers: { name: string; mask: Uint8Array }[];
  maskSizePx: number;
  /** A line shown under the panel (e.g. why the map is missing). */
  note?: string;
}

export interface SampleFigure {
  title: string;
  cameras: CameraPanel[];
  bev: BevPanel;
}

export interface FigureOptions {
  /** Width of each camera tile in pixels (height follows the 16:9 image); default 640. */
  tileWidth?: number;
  /** Quantise the PNG to a 256-colour palette (about 3× smaller; for committed docs). */
  palette?: boolean;
}

const GAP = 6;
const HEADER = 34;
const FOOTER = 28;

export interface FigureLayout {
  tileWidth: number;
  tileHeight: number;
  /** Side of the square BEV panel in pixels: the height of the two camera rows. */
  bevSize: number;
  width: number;
  height: number;
}

export function figureLayout(tileWidth = 640): FigureLayout {
  if (!Number.isInteger(tileWidth) || tileWidth < 160 || tileWidth > 1600) {
    throw new SpikedriveError(`tile width ${tileWidth} px is outside 160–1600`, {
      fix: 'pass a whole number of pixels between 160 and 1600 (default 640)',
      subject: '--tile-width',
    });
  }
  const tileHeight = Math.round((tileWidth * 9) / 16);
  const bevSize = 2 * tileHeight + GAP;
  return {
    tileWidth,
    tileHeight,
    bevSize,
    width: GAP + 3 * (tileWidth + GAP) + bevSize + GAP,
    height: HEADER + bevSize + FOOTER + GAP,
  };
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * SVG lines of a box as the devkit's `Box.render`: the four sides (corner i to i + 4) in colours[2], the
 * front rectangle (corners 0–3) in colours[0], the rear (4–7) in colours[1], and a line from the bottom
 * centre to the middle of the front-bottom edge in colours[0]. `pts` are the 8 projected corners.
 */
export function boxRenderSvg(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  colors: [Rgb, Rgb, Rgb],
  lineWidth: number,
): string {
  const line = (a: [number, number], b: [number, number], c: Rgb) =>
    `<line x1="${f1(a[0])}" y1="${f1(a[1])}" x2="${f1(b[0])}" y2="${f1(b[1])}" stroke="${hex(c)}"/>`;
  const p = (i: number): [number, number] => [xs[i], ys[i]];
  const parts: string[] = [];
  for (let i = 0; i < 4; i++) parts.push(line(p(i), p(i + 4), colors[2]));
  const loop = (start: number, c: Rgb) => {
    for (let i = 0; i < 4; i++) parts.push(line(p(start + ((i + 3) % 4)), p(start + i), c));
  };
  loop(0, colors[0]);
  loop(4, colors[1]);
  const mean = (idx: number[]): [number, number] => [
    idx.reduce((s, i) => s + xs[i], 0) / idx.length,
    idx.reduce((s, i) => s + ys[i], 0) / idx.length,
  ];
  parts.push(line(mean([2, 3, 7, 6]), mean([2, 3]), colors[0]));
  return `<g stroke-width="${lineWidth}" stroke-linecap="round" fill="none">${parts.join('')}</g>`;
}

async function cameraTile(panel: CameraPanel, layout: FigureLayout): Promise<Buffer | undefined> {
  if (!panel.imagePath) return undefined;
  try {
    return await sharp(panel.imagePath)
      .removeAlpha()
      .resize(layout.tileWidth, layout.tileHeight, { fit: 'fill' })
      .raw()
      .toBuffer();
  } catch (error) {
    throw new SpikedriveError(`cannot read the ${panel.channel} image ${panel.imagePath}`, {
      fix: 'check the file exists and is a readable JPEG/PNG (re-extract the samples/ archive or regenerate the dataset)',
      subject: panel.imagePath,
      cause: error,
    });
  }
}

function cameraOverlay(
  panel: CameraPanel,
  left: number,
  top: number,
  layout: FigureLayout,
  clipId: string,
): string {
  const { tileWidth: tw, tileHeight: th } = layout;
  const parts: string[] = [
    `<clipPath id="${clipId}"><rect x="${left}" y="${top}" width="${tw}" height="${th}"/></clipPath>`,
    `<g clip-path="url(#${clipId})">`,
  ];
  if (panel.imagePath && panel.intrinsic) {
    const sx = tw / panel.width;
    const sy = th / panel.height;
    for (const box of panel.boxes) {
      const uv = viewPoints(box.corners(), panel.intrinsic, true);
      const xs = Array.from(uv[0], (u) => left + u * sx);
      const ys = Array.from(uv[1], (v) => top + v * sy);
      const c = categoryColor(box.name);
      parts.push(boxRenderSvg(xs, ys, [c, c, c], 2));
    }
  } else {
    parts.push(
      `<text x="${left + tw / 2}" y="${top + th / 2}" text-anchor="middle" fill="#bbbbbb" font-size="18">${escapeXml(panel.channel)}: not in this sample</text>`,
    );
  }
  parts.push('</g>');
  const label = escapeXml(panel.channel);
  parts.push(
    `<rect x="${left}" y="${top}" width="${label.length * 9 + 16}" height="24" fill="#000000" fill-opacity="0.55"/>`,
    `<text x="${left + 8}" y="${top + 17}" fill="#ffffff" font-size="15">${label}</text>`,
  );
  return parts.join('');
}

/** The BEV raster: white, with the map layers painted in the explorer's colours (areas 50 % alpha). */
function bevRaster(bev: BevPanel, size: number): Buffer {
  const rgb = Buffer.alloc(size * size * 3, 255);
  const lines = new Set(['road_divider', 'lane_divider']);
  const order = Object.keys(MAP_LAYER_COLORS);
  const layers = [...bev.mapLayers].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const m = bev.maskSizePx;
  for (const layer of layers) {
    if (layer.mask.length !== m * m) {
      throw new SpikedriveError(
        `map layer ${layer.name} has ${layer.mask.length} cells, expected ${m}×${m}`,
        {
          fix: 'pass the layers of one getMapMask call with canvas size (maskSizePx, maskSizePx)',
          subject: `map layer ${layer.name}`,
        },
      );
    }
    const c = MAP_LAYER_COLORS[layer.name] ?? [128, 128, 128];
    const alpha = lines.has(layer.name) ? 1 : 0.5;
    for (let row = 0; row < size; row++) {
      // Display row 0 is the front edge (local x = +range), column 0 the left edge (local y = +range).
      const mc = m - 1 - Math.floor(((row + 0.5) * m) / size);
      for (let col = 0; col < size; col++) {
        const mr = m - 1 - Math.floor(((col + 0.5) * m) / size);
        if (layer.mask[mr * m + mc] === 0) continue;
        const o = (row * size + col) * 3;
        for (let k = 0; k < 3; k++) rgb[o + k] = Math.round(rgb[o + k] * (1 - alpha) + c[k] * alpha);
      }
    }
  }
  return rgb;
}

function bevOverlay(bev: BevPanel, left: number, top: number, size: number): string {
  const scale = size / (2 * bev.rangeM);
  // Ego frame (x forward, y left) → panel pixels, forward up.
  const px = (x: number, y: number): [number, number] => [
    left + (bev.rangeM - y) * scale,
    top + (bev.rangeM - x) * scale,
  ];
  const parts: string[] = [
    `<clipPath id="bev"><rect x="${left}" y="${top}" width="${size}" height="${size}"/></clipPath>`,
    '<g clip-path="url(#bev)">',
  ];
  // Range rings every 10 m.
  const [cx, cy] = px(0, 0);
  for (let r = 10; r <= bev.rangeM * 1.5; r += 10) {
    parts.push(
      `<circle cx="${f1(cx)}" cy="${f1(cy)}" r="${f1(r * scale)}" fill="none" stroke="#000000" stroke-opacity="0.12" stroke-width="1"/>`,
    );
  }
  for (const box of bev.boxes) {
    const corners = box.corners();
    const pts = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => px(corners[0][i], corners[1][i]));
    const c = categoryColor(box.name);
    const foot = [2, 3, 7, 6].map((i) => pts[i].map(f1).join(',')).join(' ');
    parts.push(`<polygon points="${foot}" fill="${hex(c)}" fill-opacity="0.35"/>`);
    parts.push(
      boxRenderSvg(
        pts.map((p) => p[0]),
        pts.map((p) => p[1]),
        [c, c, c],
        1.5,
      ),
    );
  }
  const polyline = (path: [number, number][], color: string, dash: string) => {
    if (path.length === 0) return;
    const pts = path.map(([x, y]) => px(x, y));
    parts.push(
      `<polyline points="${pts.map((p) => p.map(f1).join(',')).join(' ')}" fill="none" stroke="${color}" stroke-width="2.5" stroke-linejoin="round"${dash}/>`,
    );
    for (const p of pts) parts.push(`<circle cx="${f1(p[0])}" cy="${f1(p[1])}" r="3" fill="${color}"/>`);
  };
  // The ego path through the current pose (the origin): past in grey, future in violet.
  polyline([...bev.egoPast, [0, 0]], '#606060', ' stroke-dasharray="6,4"');
  polyline([[0, 0], ...bev.egoFuture], '#8e24aa', '');
  // The ego car (about a Renault Zoe: 4.1 × 1.7 m, origin at the rear axle).
  const ego = [
    [3.3, 0.87],
    [3.3, -0.87],
    [-0.8, -0.87],
    [-0.8, 0.87],
  ].map(([x, y]) => px(x, y).map(f1).join(','));
  parts.push(`<polygon points="${ego.join(' ')}" fill="#e53935" stroke="#000000" stroke-width="1"/>`);
  const [hx, hy] = px(3.3, 0);
  parts.push(
    `<line x1="${f1(cx)}" y1="${f1(cy)}" x2="${f1(hx)}" y2="${f1(hy)}" stroke="#000000" stroke-width="1.5"/>`,
  );
  parts.push('</g>');
  parts.push(
    `<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#888888" stroke-width="1"/>`,
  );
  // Legend: the categories and map layers shown.
  const legend: [string, Rgb][] = [];
  for (const name of [...new Set(bev.boxes.map((b) => b.name))].sort())
    legend.push([name, categoryColor(name)]);
  for (const layer of bev.mapLayers) {
    // Only layers that show up in the patch.
    if (layer.mask.includes(1)) legend.push([layer.name, MAP_LAYER_COLORS[layer.name] ?? [128, 128, 128]]);
  }
  // A white card behind the legend keeps it readable over map layers.
  const cardWidth = 26 + 7.2 * Math.max(0, ...legend.map(([name]) => name.length)) + 8;
  parts.push(
    `<rect x="${left + 2}" y="${top + 2}" width="${f1(cardWidth)}" height="${legend.length * 16 + 10}" fill="#ffffff" fill-opacity="0.8"/>`,
  );
  let y = top + 8;
  for (const [name, c] of legend) {
    parts.push(
      `<rect x="${left + 8}" y="${y}" width="12" height="12" fill="${hex(c)}" stroke="#333333" stroke-width="0.5"/>`,
      `<text x="${left + 26}" y="${y + 11}" fill="#202020" font-size="12">${escapeXml(name)}</text>`,
    );
    y += 16;
  }
  parts.push(
    `<rect x="${left + size - 262}" y="${top + 2}" width="260" height="58" fill="#ffffff" fill-opacity="0.8"/>`,
    `<text x="${left + size - 8}" y="${top + 18}" text-anchor="end" fill="#202020" font-size="13">BEV, ego frame, ±${bev.rangeM} m, forward ↑</text>`,
    `<text x="${left + size - 8}" y="${top + 36}" text-anchor="end" fill="#606060" font-size="12">ego past - - -</text>`,
    `<text x="${left + size - 8}" y="${top + 52}" text-anchor="end" fill="#8e24aa" font-size="12">ego future ——</text>`,
  );
  return parts.join('');
}

/**
 * Draws the devkit `render_sample` figure as one PNG: the six cameras (2 × 3, devkit order) with the
 * annotation boxes projected, and a BEV panel of the map layers, the boxes and the ego path.
 */
export async function composeSampleFigure(
  figure: SampleFigure,
  options: FigureOptions = {},
): Promise<Uint8Array> {
  const layout = figureLayout(options.tileWidth);
  const { tileWidth: tw, tileHeight: th, bevSize } = layout;
  const byChannel = new Map(figure.cameras.map((c) => [c.channel, c]));
  const panels: CameraPanel[] = CAMERA_LAYOUT.map(
    (channel) => byChannel.get(channel) ?? { channel, width: 1600, height: 900, boxes: [] },
  );
  const tiles = await Promise.all(panels.map((p) => cameraTile(p, layout)));
  const composites: OverlayOptions[] = [];
  const svg: string[] = [];
  panels.forEach((panel, i) => {
    const left = GAP + (i % 3) * (tw + GAP);
    const top = HEADER + Math.floor(i / 3) * (th + GAP);
    const tile = tiles[i];
    if (tile) composites.push({ input: tile, raw: { width: tw, height: th, channels: 3 }, left, top });
    else svg.push(`<rect x="${left}" y="${top}" width="${tw}" height="${th}" fill="#333333"/>`);
    svg.push(cameraOverlay(panel, left, top, layout, `cam${i}`));
  });
  const bevLeft = GAP + 3 * (tw + GAP);
  composites.push({
    input: bevRaster(figure.bev, bevSize),
    raw: { width: bevSize, height: bevSize, channels: 3 },
    left: bevLeft,
    top: HEADER,
  });
  svg.push(bevOverlay(figure.bev, bevLeft, HEADER, bevSize));
  svg.push(`<text x="${GAP + 4}" y="23" fill="#f0f0f0" font-size="17">${escapeXml(figure.title)}</text>`);
  if (figure.bev.note) {
    svg.push(
      `<text x="${bevLeft}" y="${HEADER + bevSize + 19}" fill="#e0b050" font-size="13">${escapeXml(figure.bev.note)}</text>`,
    );
  }
  const counts = panels.map((p) => `${p.channel.replace('CAM_', '')} ${p.boxes.length}`).join(' · ');
  svg.push(
    `<text x="${GAP + 4}" y="${HEADER + bevSize + 19}" fill="#a0a0a0" font-size="13">boxes per camera: ${escapeXml(counts)} · BEV ${figure.bev.boxes.length}</text>`,
  );
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">${svg.join('')}</svg>`;
  composites.push({ input: Buffer.from(overlay), left: 0, top: 0 });
  const png = await sharp({
    create: { width: layout.width, height: layout.height, channels: 3, background: '#1b1b1b' },
  })
    .composite(composites)
    .png({ compressionLevel: 9, palette: options.palette ?? false })
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
