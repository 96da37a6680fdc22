import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILT_IN_PROFILES,
  citedConstants,
  DEFAULT_PROFILE_ID,
  getHardwareProfile,
  hardwareProfileFrom,
  listHardwareProfiles,
  parseHardwareProfileText,
  resolveHardwareProfile,
} from '../../../src/energy/index.ts';
import { SpikedriveError } from '../../../src/util/errors.ts';

function errorOf(fn: () => unknown): SpikedriveError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SpikedriveError);
    return error as SpikedriveError;
  }
  throw new Error('expected a SpikedriveError');
}

const minimal = `
id: my-asic
name: My 28 nm ASIC
technology: 28 nm
eventDriven: true
compute:
  mac: { pj: 1.1, source: "my measurements", estimate: false }
  ac: { pj: 0.2, source: "my measurements", estimate: false }
  neuronUpdate: { pj: 0.5, source: "my synthesis run", estimate: true, note: "post-layout" }
memory:
  sram:
    - { name: buf, capacityBytes: 65536, readPerBit: { pj: 0.1, source: s, estimate: true }, writePerBit: { pj: 0.12, source: s, estimate: true } }
placement: { params: "sram:buf", state: "sram:buf", activations: in-op }
transfer: { boundaryPerBit: { pj: 2, source: "link spec", estimate: false } }
`;

describe('built-in hardware profiles', () => {
  it('has the five named profiles, each constant cited and flagged', () => {
    expect([...BUILT_IN_PROFILES.keys()]).toEqual([
      'cmos-45nm',
      'loihi2',
      'spinnaker2',
      'fpga-generic',
      'gpu-ann',
    ]);
    expect(DEFAULT_PROFILE_ID).toBe('cmos-45nm');
    for (const profile of listHardwareProfiles()) {
      for (const { key, constant } of citedConstants(profile)) {
        expect(constant.source.length, `${profile.id} ${key}`).toBeGreaterThan(10);
        expect(typeof constant.estimate).toBe('boolean');
        expect(Number.isFinite(constant.pj) && constant.pj >= 0).toBe(true);
        if (constant.estimate)
          expect(constant.note, `${profile.id} ${key} says why it is an estimate`).toBeTruthy();
      }
      // Every profile carries some estimate, and says so at the top.
      expect(profile.estimate).toBe(true);
    }
  });

  it('uses Horowitz 45 nm figures: MAC 4.6, AC 0.9, SRAM 10 pJ per 64 bits, DRAM 640 pJ per 32 bits', () => {
    const p = getHardwareProfile('cmos-45nm');
    expect(p.compute.mac).toMatchObject({ pj: 4.6, estimate: false });
    expect(p.compute.ac).toMatchObject({ pj: 0.9, estimate: false });
    expect(p.compute.mac.source).toMatch(/Horowitz.*ISSCC 2014/);
    const [s8, s32, s1m] = p.memory.sram;
    expect(s8.readPerBit.pj * 32).toBeCloseTo(5, 12);
    expect(s32.readPerBit.pj * 64).toBeCloseTo(20, 12);
    expect(s1m.readPerBit.pj * 64).toBeCloseTo(100, 12);
    expect(p.memory.dram?.readPerBit.pj).toBe(20);
    expect(p.memory.dram!.readPerBit.pj * 32).toBe(640);
  });

  it('derives the other profiles as their notes say', () => {
    expect(getHardwareProfile('loihi2').compute.ac.pj).toBe(23.6);
    expect(getHardwareProfile('loihi2').compute.neuronUpdate.pj).toBe(81);
    expect(getHardwareProfile('loihi2').placement).toEqual({
      params: 'in-op',
      state: 'in-op',
      activations: 'in-op',
    });
    expect(getHardwareProfile('spinnaker2').compute.ac.pj).toBe(450);
    expect(getHardwareProfile('spinnaker2').compute.neuronUpdate.pj).toBe(2190);
    const fpga = getHardwareProfile('fpga-generic');
    expect(fpga.compute.mac.pj).toBeCloseTo((0.2 + 0.1) * 7, 12);
    expect(fpga.compute.ac.pj).toBeCloseTo(0.05 * 14, 12);
    const gpu = getHardwareProfile('gpu-ann');
    expect(gpu.eventDriven).toBe(false);
    expect(gpu.compute.mac.pj).toBeCloseTo(2.564, 3);
    expect(gpu.compute.ac.pj).toBe(gpu.compute.mac.pj);
  });

  it('is frozen, so a caller cannot change the numbers for everyone', () => {
    const p = getHardwareProfile('cmos-45nm');
    expect(() => {
      (p.compute.mac as { pj: number }).pj = 1;
    }).toThrow(TypeError);
    expect(p.compute.mac.pj).toBe(4.6);
  });

  it('names the known profiles when asked for an unknown one', () => {
    const error = errorOf(() => getHardwareProfile('loihi3'));
    expect(error.message).toContain('"loihi3"');
    expect(error.fix).toContain('cmos-45nm, loihi2, spinnaker2, fpga-generic, gpu-ann');
  });
});

describe('user profiles from YAML / JSON', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spikedrive-energy-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses a complete profile', () => {
    const p = parseHardwareProfileText(minimal, 'my.yaml');
    expect(p.id).toBe('my-asic');
    expect(p.compute.neuronUpdate).toEqual({
      pj: 0.5,
      source: 'my synthesis run',
      estimate: true,
      note: 'post-layout',
    });
    expect(p.memory.sram[0].writePerBit.pj).toBe(0.12);
    expect(p.memory.dram).toBeUndefined();
    expect(p.estimate).toBe(true);
  });

  it('reads YAML and JSON files, and built-in ids, through resolveHardwareProfile', async () => {
    const yamlPath = join(dir, 'mine.yaml');
    await writeFile(yamlPath, minimal);
    expect((await resolveHardwareProfile(yamlPath)).id).toBe('my-asic');
    const jsonPath = join(dir, 'mine.json');
    await writeFile(
      jsonPath,
      JSON.stringify({ extends: 'cmos-45nm', id: 'cmos-int8', compute: { mac: 0.3 } }),
    );
    const fromJson = await resolveHardwareProfile(jsonPath);
    expect(fromJson.compute.mac.pj).toBe(0.3);
    expect(fromJson.compute.ac.pj).toBe(0.9);
    expect((await resolveHardwareProfile('loihi2')).id).toBe('loihi2');
    await expect(resolveHardwareProfile(join(dir, 'absent.yaml'))).rejects.toThrow(
      /cannot read hardware profile/,
    );
  });

  it('extends a built-in, overriding only the keys given; a bare number is an unsourced estimate', () => {
    const p = parseHardwareProfileText('extends: loihi2\nid: loihi2-fast\ncompute:\n  ac: 5\n', 'fast.yaml');
    expect(p.compute.ac).toEqual({ pj: 5, source: 'given in fast.yaml without a source', estimate: true });
    expect(p.compute.neuronUpdate.pj).toBe(81);
    expect(p.name).toBe(getHardwareProfile('loihi2').name);
    // The built-in is untouched.
    expect(getHardwareProfile('loihi2').compute.ac.pj).toBe(23.6);
  });

  it('reads the int8 example of the docs', () => {
    const p = parseHardwareProfileText(
      [
        'extends: cmos-45nm',
        'id: cmos-45nm-int8',
        'name: 45 nm CMOS, int8 weights',
        'compute:',
        '  mac: { pj: 0.3, source: "Horowitz ISSCC 2014: int8 mult 0.2 + int32 add 0.1", estimate: false }',
        '  ac: { pj: 0.1, source: "Horowitz ISSCC 2014: int32 add", estimate: false }',
        'placement: { params: "sram:1MiB" }',
      ].join('\n'),
      'int8.yaml',
    );
    expect(p.compute.mac.pj).toBe(0.3);
    expect(p.compute.neuronUpdate.pj).toBe(6.4);
    expect(p.placement).toEqual({ params: 'sram:1MiB', state: 'sram:32KiB', activations: 'sram:32KiB' });
  });

  it('names every offending key', () => {
    const bad = minimal
      .replace('mac: { pj: 1.1', 'mac: { pj: "fast"')
      .replace('ac: { pj: 0.2', 'ac: { pj: -0.2')
      .replace('id: my-asic', 'id: My ASIC')
      .replace('eventDriven: true', 'eventDriven: true\nvendor: acme');
    const error = errorOf(() => parseHardwareProfileText(bad, 'bad.yaml'));
    expect(error.subject).toBe('bad.yaml');
    expect(error.message).toContain('compute.mac.pj');
    expect(error.message).toContain('compute.ac.pj');
    expect(error.message).toMatch(/id: expected a lower-case id/);
    expect(error.message).toContain('Unrecognized key: "vendor"');
    expect(error.fix).toContain('{ pj, source, estimate, note }');
  });

  it('says which keys are missing, and rejects a constant that is neither number nor object', () => {
    const error = errorOf(() => parseHardwareProfileText('id: x\nname: X\ncompute: { mac: fast }', 'x.yaml'));
    expect(error.message).toContain('technology: missing');
    expect(error.message).toContain('compute.mac: expected picojoules');
    expect(error.message).toContain('compute.ac: missing');
  });

  it('rejects placements that name memory the profile lacks', () => {
    const noBank = errorOf(() =>
      parseHardwareProfileText(minimal.replace('state: "sram:buf"', 'state: "sram:big"'), 'p.yaml'),
    );
    expect(noBank.message).toContain('placement.state: no SRAM bank named "big" (banks: "sram:buf")');
    const noDram = errorOf(() =>
      parseHardwareProfileText(minimal.replace('params: "sram:buf"', 'params: dram'), 'p.yaml'),
    );
    expect(noDram.message).toContain('placement.params: "dram" but the profile has no memory.dram');
    const weird = errorOf(() =>
      parseHardwareProfileText(minimal.replace('activations: in-op', 'activations: hbm'), 'p.yaml'),
    );
    expect(weird.message).toContain('placement.activations: expected "in-op", "dram" or "sram:<bank name>"');
  });

  it('rejects a bad extends, a child without its own id, YAML syntax errors and non-mappings', () => {
    expect(errorOf(() => parseHardwareProfileText('extends: loihi9\nid: a', 'e.yaml')).message).toContain(
      'extends: "loihi9" is not a built-in profile',
    );
    expect(
      errorOf(() => parseHardwareProfileText('extends: loihi2\ncompute: {ac: 1}', 'e.yaml')).message,
    ).toContain('needs an id of its own');
    expect(errorOf(() => parseHardwareProfileText('id: [', 's.yaml')).message).toContain(
      'not valid YAML/JSON',
    );
    expect(errorOf(() => parseHardwareProfileText('- 1\n- 2', 'l.yaml')).message).toContain(
      'expected a mapping',
    );
    expect(
      errorOf(() =>
        hardwareProfileFrom({ ...getHardwareProfile('cmos-45nm'), id: 'x', memory: { sram: [] } }, 'obj'),
      ).message,
    ).toContain('placement.state');
  });
});
