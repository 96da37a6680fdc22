/** Conv geometry in one flat record (NHWC, HWIO filters), computed by tfjs's own shape rules. */
import * as tf from '@tensorflow/tfjs';

export type ConvPad =
  | 'valid'
  | 'same'
  | number
  | [[number, number], [number, number], [number, number], [number, number]];

export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  outHeight: number;
  outWidth: number;
}

export interface ConvAttrsLike {
  strides: number | [number, number];
  pad: unknown;
  dilations?: number | [number, number] | null;
  dimRoundingMode?: 'floor' | 'round' | 'ceil' | null;
}

/** Geometry of a regular (not depthwise) NHWC conv of x by a [kh, kw, ci, co] filter. */
export function convGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrsLike,
  depthwise = false,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad as ConvPad,
    attrs.dimRoundingMode ?? undefined,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padBottom: info.padInfo.bottom,
    padLeft: info.padInfo.left,
    padRight: info.padInfo.right,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
  };
}

/** The Int32Array the native kernels take (order of CONV_DIMS in native/load.ts). */
export function nativeDims(g: ConvGeometry): Int32Array {
  return Int32Array.of(
    g.batch,
    g.inHeight,
    g.inWidth,
    g.inChannels,
    g.outChannels,
    g.filterHeight,
    g.filterWidth,
    g.strideHeight,
    g.strideWidth,
    g.dilationHeight,
    g.dilationWidth,
    g.padTop,
    g.padLeft,
    g.outHeight,
    g.outWidth,
  );
}

export function outShape(g: ConvGeometry): [number, number, number, number] {
  return [g.batch, g.outHeight, g.outWidth, g.outChannels];
}

export function inShape(g: ConvGeometry): [number, number, number, number] {
  return [g.batch, g.inHeight, g.inWidth, g.inChannels];
}
