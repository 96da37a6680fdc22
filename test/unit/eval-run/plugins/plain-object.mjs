// Test plugin: a plain object (no definePlanner, no imports, no declared inputs): it receives every input the host
// provides, and reports which.
export default {
  name: 'plain-object',
  plan(observation) {
    const keys = Object.keys(observation).sort().join(',');
    return {
      trajectory: [1, 2, 3, 4, 5, 6].map((k) => [0, k, 0]),
      meta: { keys, frozen: Object.isFrozen(observation) },
    };
  },
};
