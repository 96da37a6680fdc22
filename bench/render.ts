// `npm run bench -- render [repeats] [--town]`: the synthetic world's camera rasteriser and JPEG encoder at nuScenes
// size (1600×900), on a hand-made street (test fixture), one core. Prints one JSON line per case.
import { encodeJpeg, renderCamera } from '../data-loaders/synthetic/render/index.ts';
import {
  CAMERA_ORDER,
  rigViews,
  streetCuboids,
  streetGround,
} from '../test/unit/synthetic/render-fixtures.ts';
import { median } from './_util.ts';

const repeats = Number(process.argv.find((a, i) => i >= 2 && /^\d+$/.test(a)) ?? 15);
const round = (x: number) => Math.round(x * 10) / 10;

// `--town` uses a 680 m square ground (as the synthetic world's maps), where texture cache misses dominate.
const town = process.argv.includes('--town');
const world = { ground: streetGround(town ? 680 : 240), cuboids: streetCuboids() };
const views = rigViews(0, -1.75, 0);
// Warm-up: builds the ground's mip pyramid and the noise table once, and lets the JIT settle.
let t = performance.now();
renderCamera(views[1], world);
const firstMs = performance.now() - t;
for (const v of views) renderCamera(v, world);

const renderMs: number[][] = views.map(() => []);
// CPU time of the (synchronous, single-threaded) render: steadier than wall time on a shared machine.
const renderCpuMs: number[] = [];
const encodeMs: number[] = [];
const jpegBytes: number[] = [];
for (let k = 0; k < repeats; k++) {
  for (let i = 0; i < views.length; i++) {
    t = performance.now();
    const cpu = process.cpuUsage();
    const r = renderCamera(views[i], world);
    const used = process.cpuUsage(cpu);
    renderMs[i].push(performance.now() - t);
    renderCpuMs.push((used.user + used.system) / 1000);
    if (i === 1) {
      t = performance.now();
      const jpeg = await encodeJpeg(r.rgb, 1600, 900, 90);
      encodeMs.push(performance.now() - t);
      jpegBytes.push(jpeg.length);
    }
  }
}
const base = {
  backend: 'cpu-js',
  width: 1600,
  height: 900,
  repeats,
  cuboids: world.cuboids.length,
  groundCells: world.ground.width * world.ground.height,
};
for (let i = 0; i < views.length; i++) {
  console.log(
    JSON.stringify({ bench: `render-${CAMERA_ORDER[i]}`, ...base, render_ms: round(median(renderMs[i])) }),
  );
}
const all = renderMs.flat();
const renderMedian = median(all);
const encodeMedian = median(encodeMs);
console.log(JSON.stringify({ bench: 'render-first-call', ...base, render_ms: round(firstMs) }));
console.log(
  JSON.stringify({
    bench: 'render-six-cameras',
    ...base,
    render_ms: round(renderMedian),
    render_cpu_ms: round(median(renderCpuMs)),
  }),
);
console.log(
  JSON.stringify({
    bench: 'encode-jpeg-q90',
    ...base,
    encode_ms: round(encodeMedian),
    jpeg_bytes: median(jpegBytes),
  }),
);
console.log(
  JSON.stringify({
    bench: 'render-and-encode',
    ...base,
    image_ms: round(renderMedian + encodeMedian),
    // The synth goal: 10 scenes × 40 keyframes × 6 cameras on 2 cores, under 300 s.
    projected_synth_2400_images_2_cores_s: Math.round((2400 * (renderMedian + encodeMedian)) / 2 / 1000),
  }),
);
