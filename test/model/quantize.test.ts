import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quantizeWeights, UINT32_MAX } from '../../src/model';

const rawArb = fc.array(fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e-6, noNaN: true }), fc.constant(0), fc.integer({ min: 1, max: 10 })), {
  minLength: 1,
  maxLength: 300,
});
const scaleArb = fc.constantFrom(100, 1000, 10_000, 1_000_000);

function exactShares(raw: number[]): number[] {
  const sum = raw.reduce((a, b) => a + b, 0);
  return sum > 0 ? raw.map((r) => r / sum) : raw.map(() => 1 / raw.length);
}

describe('quantizeWeights', () => {
  it('gives integers >= 1 whose shares are within 1 point of the exact ones, sum within uint32', () => {
    fc.assert(
      fc.property(rawArb, scaleArb, (raw, scale) => {
        const q = quantizeWeights(raw, scale);
        assert.equal(q.length, raw.length);
        const sum = q.reduce((a, b) => a + b, 0);
        assert.ok(sum <= UINT32_MAX);
        const exact = exactShares(raw);
        q.forEach((w, i) => {
          assert.ok(Number.isInteger(w) && w >= 1, `weight ${w}`);
          assert.ok(Math.abs(w / sum - exact[i]) <= 0.01, `share ${w / sum} vs ${exact[i]}`);
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('is monotone: a larger raw weight never gets a smaller integer, equal raws get equal integers', () => {
    fc.assert(
      fc.property(rawArb, scaleArb, (raw, scale) => {
        const q = quantizeWeights(raw, scale);
        for (let i = 0; i < raw.length; i++) {
          for (let j = 0; j < raw.length; j++) {
            if (raw[i] > raw[j]) assert.ok(q[i] >= q[j]);
            if (raw[i] === raw[j]) assert.equal(q[i], q[j]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is scale-invariant in its input and uses the requested scale', () => {
    assert.deepEqual(quantizeWeights([1, 1, 2], 10_000), quantizeWeights([5, 5, 10], 10_000));
    assert.deepEqual(quantizeWeights([1, 1, 2], 10_000), [2500, 2500, 5000]);
    assert.deepEqual(quantizeWeights([1, 2], 10_000), [3333, 6667]);
    assert.equal(
      quantizeWeights([1, 1, 1], 10_000).reduce((a, b) => a + b),
      10_002,
    );
  });

  it('handles zeros, empty input and an all-zero input (even spread)', () => {
    assert.deepEqual(quantizeWeights([], 10_000), []);
    assert.deepEqual(quantizeWeights([0, 5], 10_000), [1, 10_000]);
    const even = quantizeWeights([0, 0, 0, 0], 10_000);
    assert.ok(even.every((w) => w === even[0]) && even[0] >= 1);
    assert.deepEqual(quantizeWeights([Number.NaN, -1, 2], 10_000), [1, 1, 10_000]);
  });

  it('raises the scale for large fleets so the 1-point bound still holds', () => {
    const raw = Array.from({ length: 5000 }, (_, i) => (i === 0 ? 1e9 : 1e-9));
    const q = quantizeWeights(raw, 100);
    const sum = q.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(q[0] / sum - 1) <= 0.01);
    assert.ok(q.slice(1).every((w) => w === 1));
  });
});
