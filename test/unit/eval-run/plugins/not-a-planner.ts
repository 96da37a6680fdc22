// Test plugin: the default export is not a planner.
export default { name: 'not-a-planner', run: () => [] };
