// Small shared helpers that every layer may use: errors that name the fix, atomic file writes, seeded
// randomness. Nothing here knows about driving, spiking networks or nuScenes.
export { isSpikedriveError, SpikedriveError } from './errors.ts';
export { writeFileAtomic, writeFileAtomicSync, writeJsonAtomic } from './fs.ts';
export { createRng, type Rng } from './rng.ts';
