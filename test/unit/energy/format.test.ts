import { describe, expect, it } from 'vitest';
import {
  activityRollUpToJson,
  computeEnergy,
  computeEnergyMethods,
  energyReportToJson,
  formatActivityRollUp,
  formatCount,
  formatEnergyComparison,
  formatEnergyReport,
  formatHardwareProfile,
  formatJoules,
  formatPercent,
  getHardwareProfile,
  rollUpActivity,
  toMillijoules,
} from '../../../src/energy/index.ts';
import { toyRecord } from './_records.ts';

const cmos = getHardwareProfile('cmos-45nm');

describe('units', () => {
  it('prints joules with the largest fitting SI prefix', () => {
    expect(formatJoules(0.04692)).toBe('46.92 mJ');
    expect(formatJoules(3.5204)).toBe('3.52 J');
    expect(formatJoules(44859.6e-12)).toBe('44.86 nJ');
    expect(formatJoules(4.6e-12)).toBe('4.6 pJ');
    expect(formatJoules(0)).toBe('0 J');
    expect(toMillijoules(0.04692)).toBeCloseTo(46.92, 12);
    expect(formatCount(2.556e12)).toBe('2.556 T');
    expect(formatCount(512)).toBe('512');
    expect(formatPercent(0.01364)).toBe('1.36%');
    expect(formatPercent(null)).toBe('–');
  });
});

describe('energy report text', () => {
  it('prints the method, the profile, the formula, the per-module table, the ratio and the caveats', () => {
    const text = formatEnergyReport(computeEnergy(toyRecord(), { method: 'sad-paper', profile: cmos }));
    expect(text).toContain('method sad-paper, profile cmos-45nm');
    expect(text).toContain('contains estimates');
    expect(text).toContain('E = E_MAC · MACs(first layer) + E_AC · Σ SOPs');
    expect(text).toContain('first layer: encoder.conv1, MACs counted once (÷T)');
    expect(text).toMatch(/perception\s+3\s+40\.09 nJ/);
    expect(text).toMatch(/total\s+6\s+44\.86 nJ/);
    expect(text).toContain('ANN/SNN = ');
    expect(text).toContain('flatters the SNN');
    expect(text).toMatch(/perception->prediction\s+1\.024 k\s+20/);
  });

  it('lists layers, all or the most energetic N', () => {
    const report = computeEnergy(toyRecord(), { method: 'memory-aware', profile: cmos });
    const all = formatEnergyReport(report, { layers: true });
    for (const name of ['encoder.conv1', 'encoder.lif1', 'decoder.bn', 'planning.fc'])
      expect(all).toContain(name);
    const top = formatEnergyReport(report, { layers: 2 });
    expect(top).toContain('the 2 most energetic layers');
    expect(top).toMatch(/0\s+encoder\.conv1/);
    expect(top).toMatch(/2\s+encoder\.conv2/);
    expect(top).not.toMatch(/5\s+planning\.fc/);
    expect(top).toContain('placement: params dram, state sram:32KiB, activations sram:32KiB');
    expect(top).toContain('compute only');
  });

  it('compares methods side by side', () => {
    const text = formatEnergyComparison(Object.values(computeEnergyMethods(toyRecord(), { profile: cmos })));
    expect(text.split('\n')[0]).toMatch(
      /sad-paper @ cmos-45nm\s+memory-aware @ cmos-45nm\s+ann-equivalent @ cmos-45nm/,
    );
    expect(text).toMatch(/total\s+44\.86 nJ\s+413\.4 nJ\s+324\.8 nJ/);
  });

  it('writes JSON that round-trips, tagged with schema and version', () => {
    const report = computeEnergy(toyRecord(), { method: 'memory-aware', profile: cmos });
    const json = energyReportToJson(report);
    expect(json.schema).toBe('spikedrive.energy-report');
    expect(json.version).toBe(1);
    expect(json.unit).toBe('J per frame');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.totalJ).toBe(report.totalJ);
    const rollup = activityRollUpToJson(rollUpActivity(toyRecord()));
    expect(rollup.schema).toBe('spikedrive.activity-rollup');
    expect(JSON.parse(JSON.stringify(rollup))).toEqual(rollup);
  });
});

describe('activity and profile text', () => {
  it('prints firing rates, ops and bits per module, and per layer on request', () => {
    const text = formatActivityRollUp(rollUpActivity(toyRecord()), { layers: true });
    expect(text).toMatch(/perception\s+3\s+1\s+25\.00%\s+25\.00%\s+9\.216 k\s+27\.65 k/);
    expect(text).toMatch(/planning\s+1\s+0\s+30\.00%\s+–/);
    expect(text).toMatch(/5\s+planning\.fc\s+planning\s+linear\s+6\s+30\.00%/);
  });

  it('prints every constant of a profile with its status and sources', () => {
    const text = formatHardwareProfile(getHardwareProfile('cmos-45nm'));
    expect(text).toMatch(/compute\.mac\s+4\.6 pJ\s+cited/);
    expect(text).toMatch(/memory\.dram\.readPerBit\s+20 pJ\/bit\s+estimate/);
    expect(text).toContain('Horowitz');
    expect(formatHardwareProfile(getHardwareProfile('loihi2'))).toContain('Davies et al.');
  });
});
