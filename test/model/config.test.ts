import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_WEIGHTS_CONFIG, loadWeightsConfigFile, parseWeightsConfig } from '../../src/model';

function err(input: unknown): { field: string; message: string } {
  const r = parseWeightsConfig(input);
  assert.equal(r.ok, false, `expected an error for ${JSON.stringify(input)}`);
  return (r as { ok: false; error: { field: string; message: string } }).error;
}

describe('parseWeightsConfig', () => {
  it('accepts an empty config and returns the defaults', () => {
    for (const input of [{}, undefined, null]) {
      const r = parseWeightsConfig(input);
      assert.ok(r.ok);
      assert.deepEqual(r.config, DEFAULT_WEIGHTS_CONFIG);
    }
  });

  it('merges partial input over the defaults, section by section', () => {
    const r = parseWeightsConfig({
      lambdaPerKm: 0.05,
      network: { latencyRefMs: 50 },
      regionFailover: { 'cn-east': ['cn-north', 'eu-west'] },
    });
    assert.ok(r.ok);
    assert.equal(r.config.lambdaPerKm, 0.05);
    assert.equal(r.config.network.latencyRefMs, 50);
    assert.equal(r.config.network.lossRef, DEFAULT_WEIGHTS_CONFIG.network.lossRef);
    assert.equal(r.config.epsilon, DEFAULT_WEIGHTS_CONFIG.epsilon);
    assert.deepEqual(r.config.regionFailover, { 'cn-east': ['cn-north', 'eu-west'] });
    // The defaults are not mutated.
    assert.equal(DEFAULT_WEIGHTS_CONFIG.network.latencyRefMs, 100);
  });

  it('merges over a given base (PUT semantics) and replaces regionFailover whole', () => {
    const base = parseWeightsConfig({ regionFailover: { a: ['b'] }, epsilon: 0.5 });
    assert.ok(base.ok);
    const r = parseWeightsConfig({ regionFailover: { c: ['d'] } }, base.config);
    assert.ok(r.ok);
    assert.equal(r.config.epsilon, 0.5);
    assert.deepEqual(r.config.regionFailover, { c: ['d'] });
  });

  it('names the offending field', () => {
    assert.equal(err({ lambdaPerKm: -1 }).field, 'lambdaPerKm');
    assert.equal(err({ lambdaPerKm: 'x' }).field, 'lambdaPerKm');
    assert.equal(err({ lambdaPerKm: Number.NaN }).field, 'lambdaPerKm');
    assert.equal(err({ epsilon: 0 }).field, 'epsilon');
    assert.equal(err({ network: { latencyRefMs: 0 } }).field, 'network.latencyRefMs');
    assert.equal(err({ network: { minFactor: 1.5 } }).field, 'network.minFactor');
    assert.equal(err({ load: { combine: 'min' } }).field, 'load.combine');
    assert.equal(err({ load: { cpuWeight: 0, memoryWeight: 0, networkWeight: 0 } }).field, 'load');
    assert.equal(err({ overload: { threshold: 1.2 } }).field, 'overload.threshold');
    assert.equal(err({ overload: { weightFactor: -0.1 } }).field, 'overload.weightFactor');
    assert.equal(err({ hysteresisPct: 101 }).field, 'hysteresisPct');
    assert.equal(err({ weightScale: 10.5 }).field, 'weightScale');
    assert.equal(err({ weightScale: 5e9 }).field, 'weightScale');
    assert.equal(err({ overprovisioningFactor: 0 }).field, 'overprovisioningFactor');
    assert.equal(err({ nonHealthyEndpoints: 'drop' }).field, 'nonHealthyEndpoints');
    assert.equal(err({ preferSubZone: 'yes' }).field, 'preferSubZone');
    assert.equal(err({ regionFailover: { 'cn-east': 'cn-north' } }).field, 'regionFailover.cn-east');
    assert.equal(err({ regionFailover: { 'cn-east': ['cn-north', 'cn-north'] } }).field, 'regionFailover.cn-east.1');
    assert.equal(err({ regionFailover: { 'cn-east': ['cn-east'] } }).field, 'regionFailover.cn-east.0');
    assert.equal(err({ lamdaPerKm: 0.1 }).field, 'lamdaPerKm');
    assert.equal(err({ network: { latency: 1 } }).field, 'network.latency');
    assert.equal(err([1, 2]).field, '');
    const e = err({ lambdaPerKm: 5 });
    assert.ok(e.message.length > 0);
  });
});

describe('loadWeightsConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weights-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads YAML', () => {
    const p = join(dir, 'w.yaml');
    writeFileSync(p, 'lambdaPerKm: 0.02\nregionFailover:\n  cn-east: [cn-north, eu-west]\noverload:\n  threshold: 0.8\n');
    const r = loadWeightsConfigFile(p);
    assert.ok(r.ok);
    assert.equal(r.config.lambdaPerKm, 0.02);
    assert.equal(r.config.overload.threshold, 0.8);
    assert.equal(r.config.overload.weightFactor, 0);
    assert.deepEqual(r.config.regionFailover['cn-east'], ['cn-north', 'eu-west']);
  });

  it('reads JSON and reports field errors, syntax errors and missing files', () => {
    const p = join(dir, 'w.json');
    writeFileSync(p, JSON.stringify({ epsilon: 0.5 }));
    const ok = loadWeightsConfigFile(p);
    assert.ok(ok.ok && ok.config.epsilon === 0.5);
    writeFileSync(p, JSON.stringify({ network: { lossRef: 2 } }));
    const bad = loadWeightsConfigFile(p);
    assert.ok(!bad.ok && bad.error.field === 'network.lossRef');
    writeFileSync(p, '{ nope');
    const syntax = loadWeightsConfigFile(p);
    assert.ok(!syntax.ok && /cannot parse/.test(syntax.error.message));
    const missing = loadWeightsConfigFile(join(dir, 'missing.yaml'));
    assert.ok(!missing.ok && /cannot read/.test(missing.error.message));
  });
});
