// A small canvas line/bar chart with a cursor, linked to the timeline (click to seek). Hand-written: no chart
// package is in the dependency set, and this needs only lines, stacked bars, a cursor and a legend.
export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

export interface ChartOptions {
  kind: 'lines' | 'stacked';
  unit: string;
  onSeek?: (index: number) => void;
}

export class Chart {
  readonly canvas: HTMLCanvasElement;
  #series: Series[] = [];
  #cursor = -1;

  constructor(
    parent: HTMLElement,
    readonly options: ChartOptions,
    testId: string,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart';
    this.canvas.dataset.testid = testId;
    this.canvas.width = 520;
    this.canvas.height = 140;
    parent.append(this.canvas);
    this.canvas.addEventListener('click', (e) => {
      const n = this.#length();
      if (n === 0 || !this.options.onSeek) return;
      const rect = this.canvas.getBoundingClientRect();
      const x = ((e.clientX - rect.left) / rect.width) * this.canvas.width;
      const i = Math.round(((x - 40) / (this.canvas.width - 50)) * (n - 1));
      this.options.onSeek(Math.max(0, Math.min(n - 1, i)));
    });
  }

  #length(): number {
    return Math.max(0, ...this.#series.map((s) => s.values.length));
  }

  set(series: Series[], cursor: number) {
    this.#series = series;
    this.#cursor = cursor;
    this.draw();
  }

  draw() {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.canvas;
    const left = 40;
    const right = width - 10;
    const top = 18;
    const bottom = height - 16;
    ctx.fillStyle = '#16191f';
    ctx.fillRect(0, 0, width, height);
    const n = this.#length();
    ctx.font = '10px sans-serif';
    if (n === 0) {
      ctx.fillStyle = '#778';
      ctx.fillText('no data', left, height / 2);
      return;
    }
    let max = 0;
    for (let i = 0; i < n; i++) {
      if (this.options.kind === 'stacked')
        max = Math.max(
          max,
          this.#series.reduce((a, s) => a + (s.values[i] ?? 0), 0),
        );
      else for (const s of this.#series) max = Math.max(max, s.values[i] ?? 0);
    }
    max = max > 0 ? max * 1.1 : 1;
    const xOf = (i: number) => left + (n === 1 ? 0 : (i / (n - 1)) * (right - left));
    const yOf = (v: number) => bottom - (v / max) * (bottom - top);
    ctx.strokeStyle = '#333a44';
    ctx.beginPath();
    ctx.moveTo(left, top);
    ctx.lineTo(left, bottom);
    ctx.lineTo(right, bottom);
    ctx.stroke();
    ctx.fillStyle = '#99a';
    ctx.fillText(`${max.toPrecision(3)} ${this.options.unit}`, 2, top + 4);
    ctx.fillText('0', 28, bottom);
    if (this.options.kind === 'stacked') {
      const w = Math.max(1, (right - left) / n - 1);
      for (let i = 0; i < n; i++) {
        let base = 0;
        for (const s of this.#series) {
          const v = s.values[i] ?? 0;
          ctx.fillStyle = s.color;
          ctx.fillRect(xOf(i) - w / 2, yOf(base + v), w, yOf(base) - yOf(base + v));
          base += v;
        }
      }
    } else {
      for (const s of this.#series) {
        ctx.strokeStyle = s.color;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        let started = false;
        s.values.forEach((v, i) => {
          if (v === null || !Number.isFinite(v)) {
            started = false;
            return;
          }
          if (started) ctx.lineTo(xOf(i), yOf(v));
          else ctx.moveTo(xOf(i), yOf(v));
          started = true;
        });
        ctx.stroke();
      }
    }
    if (this.#cursor >= 0 && this.#cursor < n) {
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(xOf(this.#cursor), top);
      ctx.lineTo(xOf(this.#cursor), bottom);
      ctx.stroke();
    }
    let x = left + 4;
    for (const s of this.#series) {
      ctx.fillStyle = s.color;
      ctx.fillRect(x, 4, 8, 8);
      ctx.fillStyle = '#ccd';
      ctx.fillText(s.label, x + 11, 12);
      x += ctx.measureText(s.label).width + 24;
    }
  }
}
