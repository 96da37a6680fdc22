export { Box, type BoxOptions } from './box.ts';
export { type Matrix, multiplyMatrices, Quaternion, quaternionYaw, transpose } from './quaternion.ts';
export {
  BoxVisibility,
  boxInImage,
  type PointRows,
  pointsInBox,
  transformMatrix,
  transformPoint,
  viewPoints,
} from './transforms.ts';
