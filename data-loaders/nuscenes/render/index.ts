// The devkit's `render_sample` for any nuScenes-format dataset (real or synthetic): the six cameras with
// projected annotation boxes and a bird's-eye panel with map layers, boxes and the ego path, as one PNG.
export { categoryColor, DEVKIT_COLORMAP, MAP_LAYER_COLORS, type Rgb } from './colors.ts';
export {
  type BevPanel,
  boxRenderSvg,
  CAMERA_LAYOUT,
  type CameraPanel,
  composeSampleFigure,
  type FigureLayout,
  type FigureOptions,
  figureLayout,
  type SampleFigure,
} from './figure.ts';
export { openMapExpansion } from './map-source.ts';
export {
  collectSampleFigure,
  DEFAULT_BEV_LAYERS,
  type MapMaskSource,
  type RenderSampleOptions,
  renderSample,
} from './sample.ts';
