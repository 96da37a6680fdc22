// The run folder reader/writer now lives with the evaluator that writes runs (`src/eval/run-folder.ts`, one
// implementation for both sides); this module keeps the viewer's imports working.
export {
  type FrameMeta,
  type NewRunManifest,
  type RunFolder,
  RunWriter,
  readFrameBytes,
  readJsonFile,
  readRunFolder,
} from '../../eval/run-folder.ts';
