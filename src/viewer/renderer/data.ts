// Loads what the cursor points at: the sample view (cameras, boxes), the HD map, both runs' frames and the camera
// images, with small caches and prefetch of the next frames so playback does not wait on the disk.

import { type DecodedFrame, decodeFrame } from '../../eval/run-format.ts';
import type { SampleView } from '../api/protocol.ts';
import type { Client } from './client.ts';
import { activeDataset, compareRun, currentToken, notify, primaryRun, store } from './store.ts';

export interface FrameBundle {
  token: string;
  view: SampleView | null;
  /** [2, X, Y] ×255 HD map from the dataset (used when the run has none). */
  map: Uint8Array | null;
  primary: DecodedFrame | null;
  compare: DecodedFrame | null;
  images: Map<string, HTMLImageElement>;
}

class Lru<V> {
  readonly #map = new Map<string, Promise<V>>();
  constructor(
    readonly size: number,
    readonly onEvict?: (v: Promise<V>) => void,
  ) {}
  get(key: string, make: () => Promise<V>): Promise<V> {
    let hit = this.#map.get(key);
    if (hit) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    hit = make();
    hit.catch(() => this.#map.delete(key));
    this.#map.set(key, hit);
    if (this.#map.size > this.size) {
      const [oldKey, old] = this.#map.entries().next().value as [string, Promise<V>];
      this.#map.delete(oldKey);
      this.onEvict?.(old);
    }
    return hit;
  }
}

export const CAMERA_IMAGE_WIDTH = 640;

export class FrameLoader {
  readonly #client: Client;
  readonly #views = new Lru<SampleView>(64);
  readonly #maps = new Lru<Uint8Array | null>(64);
  readonly #frames = new Lru<DecodedFrame>(48);
  readonly #images = new Lru<HTMLImageElement>(96, (p) =>
    p.then((img) => URL.revokeObjectURL(img.src)).catch(() => {}),
  );
  #current: FrameBundle | null = null;
  readonly #listeners = new Set<(b: FrameBundle) => void>();
  #generation = 0;

  constructor(client: Client) {
    this.#client = client;
  }

  get current(): FrameBundle | null {
    return this.#current;
  }

  subscribe(listener: (b: FrameBundle) => void): void {
    this.#listeners.add(listener);
  }

  frame(runId: string, token: string): Promise<DecodedFrame> {
    return this.#frames.get(`${runId}/${token}`, async () =>
      decodeFrame(await this.#client.runFrame({ runId, token }), `${runId}/${token}.sdf`),
    );
  }

  #view(datasetId: string, token: string) {
    return this.#views.get(`${datasetId}/${token}`, () => this.#client.sampleView({ datasetId, token }));
  }

  #map(datasetId: string, token: string, hasMaps: boolean) {
    return this.#maps.get(`${datasetId}/${token}`, async () =>
      hasMaps ? this.#client.sampleMap({ datasetId, token }).catch(() => null) : null,
    );
  }

  #image(datasetId: string, sampleDataToken: string) {
    return this.#images.get(`${datasetId}/${sampleDataToken}`, async () => {
      const bytes = await this.#client.cameraImage({
        datasetId,
        sampleDataToken,
        maxWidth: CAMERA_IMAGE_WIDTH,
      });
      const img = new Image();
      img.src = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'image/jpeg' }));
      await img.decode();
      return img;
    });
  }

  async #bundle(token: string): Promise<FrameBundle> {
    const s = store.getState();
    const dataset = activeDataset(s);
    const a = primaryRun(s);
    const b = compareRun(s);
    const has = (run: typeof a) => run?.frames.some((f) => f.token === token) ?? false;
    const [view, map, primary, compare] = await Promise.all([
      dataset ? this.#view(dataset.datasetId, token).catch(() => null) : null,
      dataset && !has(a) ? this.#map(dataset.datasetId, token, dataset.hasMaps) : null,
      a && has(a) ? this.frame(a.runId, token) : null,
      b && has(b) ? this.frame(b.runId, token) : null,
    ]);
    const images = new Map<string, HTMLImageElement>();
    if (dataset && view) {
      await Promise.all(
        view.cameras.map(async (c) => {
          const img = await this.#image(dataset.datasetId, c.sampleDataToken).catch(() => null);
          if (img) images.set(c.channel, img);
        }),
      );
    }
    return { token, view, map, primary, compare, images };
  }

  /** Loads the cursor's frame and tells the listeners; stale loads (the cursor moved on) are dropped. */
  async load(): Promise<void> {
    const token = currentToken();
    if (!token) return;
    const generation = ++this.#generation;
    try {
      const bundle = await this.#bundle(token);
      if (generation !== this.#generation) return;
      this.#current = bundle;
      for (const l of this.#listeners) l(bundle);
      store.setState({ renderedToken: token });
      this.#prefetch();
    } catch (error) {
      if (generation === this.#generation)
        notify('error', (error as Error).message, (error as { fix?: string }).fix);
    }
  }

  /** Warms the caches for the next three samples of the scene. */
  #prefetch(): void {
    const s = store.getState();
    const scene = s.scenes[s.sceneIndex];
    if (!scene) return;
    for (let k = 1; k <= 3; k++) {
      const next = scene.samples[s.frameIndex + k];
      if (next) this.#bundle(next.token).catch(() => {});
    }
  }
}
