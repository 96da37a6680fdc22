import { describe, expect, it, vi } from 'vitest';
import { formatSummary, summarizeDataset } from '../../../data-loaders/nuscenes/index.ts';
import { main } from '../../../src/cli/index.ts';
import { FIXTURE_DATAROOT, fixture } from './helpers.ts';

describe('dataset summary (spikedrive data info)', () => {
  it('counts scenes, samples, annotations per category, sensors, maps and CAN bus', () => {
    const s = summarizeDataset(fixture());
    expect(s.tables.sample_data).toBe(109);
    expect(s.scenes.map((x) => [x.name, x.location, x.samples, x.annotations])).toEqual([
      ['scene-0061', 'singapore-onenorth', 4, 11],
      ['scene-0103', 'boston-seaport', 3, 8],
    ]);
    // scene-0061: 4 samples about 0.5 s apart (the fixture adds 1.337 ms to odd ones).
    expect(s.scenes[0].durationS).toBeCloseTo(1.501487, 9);
    expect(s.scenes[0].start).toBe('2018-07-24T03:28:47.647Z');
    const car = s.categories.find((c) => c.name === 'vehicle.car');
    expect(car?.count).toBe(7);
    expect(s.categories.map((c) => c.name)).toEqual([...s.categories.map((c) => c.name)].sort());
    const truck = s.categories.find((c) => c.name === 'vehicle.truck');
    expect(truck?.widthM).toEqual([2.5, 0]);
    expect(truck?.lwAspect[0]).toBeCloseTo(7.8 / 2.5, 12);
    expect(s.attributes.find((a) => a.name === 'vehicle.parked')?.count).toBe(3);
    expect(s.sampleData).toEqual([
      { modality: 'camera', keyframes: 42, sweeps: 10 },
      { modality: 'lidar', keyframes: 7, sweeps: 10 },
      { modality: 'radar', keyframes: 35, sweeps: 5 },
    ]);
    expect(s.samplesWithAllCameras).toBe(7);
    expect(s.maps).toHaveLength(4);
    expect(s.maps.every((m) => m.fileExists)).toBe(true);
    expect(s.maps.find((m) => m.locations.includes('boston-seaport'))?.logs).toBe(1);
    expect(s.lidarseg).toBe(false);
    const text = formatSummary(s);
    expect(text).toContain('2 scenes, 7 samples, 109 sample_data, 19 annotations');
    expect(text).toMatch(/vehicle\.car\s+n=\s+7, width=1\.\d\d±0\.\d\d/);
  });

  it('prints through the CLI, as text and as JSON; a bad version exits 1 with the fix', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const stderr = vi.spyOn(console, 'error').mockImplementation((line) => {
      err.push(String(line));
    });
    try {
      const args = [
        'node',
        'spikedrive',
        'data',
        'info',
        '--dataroot',
        FIXTURE_DATAROOT,
        '--version',
        'v1.0-mini',
      ];
      expect(await main(args)).toBe(0);
      expect(out.join('')).toContain('scene-0061, Parked truck');
      expect(out.join('')).toMatch(/CAN bus: .*can_bus/);
      out.length = 0;
      expect(await main([...args, '--json'])).toBe(0);
      const json = JSON.parse(out.join(''));
      expect(json.scenes[1].name).toBe('scene-0103');
      expect(
        await main([
          'node',
          'spikedrive',
          'data',
          'info',
          '--dataroot',
          FIXTURE_DATAROOT,
          '--version',
          'v1.0-test',
        ]),
      ).toBe(1);
      expect(err.join('\n')).toContain('Use --version v1.0-mini');
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });
});
