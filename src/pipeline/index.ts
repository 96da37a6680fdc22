export {
  applyOverride,
  configHash,
  defaultSadConfig,
  listPresets,
  loadSadConfig,
  PRESETS_DIR,
  type SadConfig,
  type SadGeometry,
  sadConfigFromYaml,
  sadGeometry,
  validateSadConfig,
} from './config.ts';
