// Hand-built activity records for the energy tests; every count here is small enough to check by hand.
import { expect } from 'vitest';
import type { ActivityRecord, LayerActivity } from '../../../src/snn/activity.ts';

export function layer(
  fields: Partial<LayerActivity> & Pick<LayerActivity, 'name' | 'module' | 'kind'>,
): LayerActivity {
  return {
    timeSteps: 1,
    batch: 1,
    inputElements: 0,
    inputSpikes: 0,
    inputIsSpiking: false,
    outputElements: 0,
    outputSpikes: 0,
    synapticOps: 0,
    denseMacs: 0,
    equivalentMacs: 0,
    neuronUpdates: 0,
    paramBytesRead: 0,
    stateBytesRead: 0,
    stateBytesWritten: 0,
    outputBits: 0,
    ...fields,
  };
}

/**
 * Six layers over three modules:
 * 0 encoder.conv1  image conv, real input, T=4 repeated: 27 648 dense MACs (6 912 per step), 448 B params
 * 1 encoder.lif1   LIF: 1 024 updates, 256 spikes out of 1 024, 4 096 B state read and written
 * 2 encoder.conv2  spiking input (256 of 1 024): 9 216 SOPs of 36 864 dense, 576 B params
 * 3 decoder.bn     batch norm recorded with 100 dense ops (not conv/fc)
 * 4 decoder.head   conv on real input: 5 000 MACs
 * 5 planning.fc    linear on spikes (30 of 100): 300 SOPs of 1 000
 * boundaries: perception->prediction 1 024 bits, prediction->planning 64 bits
 */
export function toyRecord(): ActivityRecord {
  return {
    layers: [
      layer({
        name: 'encoder.conv1',
        module: 'perception',
        kind: 'conv2d',
        timeSteps: 4,
        inputElements: 768,
        inputSpikes: 768,
        outputElements: 1024,
        denseMacs: 27648,
        equivalentMacs: 27648,
        paramBytesRead: 448,
        outputBits: 32768,
      }),
      layer({
        name: 'encoder.lif1',
        module: 'perception',
        kind: 'lif',
        timeSteps: 4,
        inputElements: 1024,
        inputSpikes: 1024,
        outputElements: 1024,
        outputSpikes: 256,
        neuronUpdates: 1024,
        stateBytesRead: 4096,
        stateBytesWritten: 4096,
        outputBits: 1024,
      }),
      layer({
        name: 'encoder.conv2',
        module: 'perception',
        kind: 'conv2d',
        timeSteps: 4,
        inputIsSpiking: true,
        inputElements: 1024,
        inputSpikes: 256,
        outputElements: 1024,
        synapticOps: 9216,
        equivalentMacs: 36864,
        paramBytesRead: 576,
        outputBits: 32768,
      }),
      layer({
        name: 'decoder.bn',
        module: 'prediction',
        kind: 'batchnorm',
        timeSteps: 3,
        inputElements: 100,
        inputSpikes: 100,
        outputElements: 100,
        denseMacs: 100,
        equivalentMacs: 100,
      }),
      layer({
        name: 'decoder.head',
        module: 'prediction',
        kind: 'conv2d',
        timeSteps: 3,
        inputElements: 100,
        inputSpikes: 100,
        denseMacs: 5000,
        equivalentMacs: 5000,
      }),
      layer({
        name: 'planning.fc',
        module: 'planning',
        kind: 'linear',
        timeSteps: 6,
        inputIsSpiking: true,
        inputElements: 100,
        inputSpikes: 30,
        synapticOps: 300,
        equivalentMacs: 1000,
      }),
    ],
    boundaryBits: { 'perception->prediction': 1024, 'prediction->planning': 64 },
  };
}

/** actual joules equal expected picojoules to 1e-9 relative. */
export function expectPj(actualJ: number, expectedPj: number): void {
  const expectedJ = expectedPj * 1e-12;
  expect(Math.abs(actualJ - expectedJ)).toBeLessThanOrEqual(Math.abs(expectedJ) * 1e-9 + 1e-30);
}
