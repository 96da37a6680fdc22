// A minimal run manifest for the viewer's tests.
export const MANIFEST = {
  spikedrive: { version: '0.1.0' },
  config: {},
  configHash: 'abc',
  seed: 0,
  backend: { name: 'none', version: '-', threads: 1 },
  dataset: { dataroot: '/nowhere', version: 'v1.0-mini', split: 'val', sampleTokens: ['t1', 't2'] },
  checkpoint: null,
  planner: { name: 'expert', source: 'builtin', apiVersion: 1 },
  energyProfile: 'cmos-45nm',
  bev: {
    xBound: [-2, 2, 1] as [number, number, number],
    yBound: [-2, 2, 1] as [number, number, number],
    rows: 4,
    cols: 4,
  },
  nFuture: 1,
  receptiveField: 3,
};
