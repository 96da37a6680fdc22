// Test plugin: its init fails (e.g. a missing weights file).
import { definePlanner } from '../../../../src/planning/planner.ts';

export default definePlanner({
  name: 'init-throws',
  inputs: [],
  init: () => {
    throw new Error('weights.bin not found');
  },
  plan: () => [],
});
