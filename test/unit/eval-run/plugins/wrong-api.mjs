// Test plugin: built for a future planner API version.
export default { apiVersion: 99, name: 'wrong-api', inputs: [], plan: () => [] };
