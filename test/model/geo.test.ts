import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EARTH_RADIUS_KM, haversineKm, resolveRequester, sphericalCentroid } from '../../src/model';
import { node } from './fixtures';

const SHANGHAI = { lat: 31.2304, lon: 121.4737 };
const BEIJING = { lat: 39.9042, lon: 116.4074 };
const pointArb = fc.record({
  lat: fc.double({ min: -90, max: 90, noNaN: true }),
  lon: fc.double({ min: -180, max: 180, noNaN: true }),
});

/** Independent check: central angle from the dot product of unit vectors (fine away from 0 and pi). */
function chordAngleKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = Math.PI / 180;
  const v = (p: { lat: number; lon: number }) => [Math.cos(p.lat * r) * Math.cos(p.lon * r), Math.cos(p.lat * r) * Math.sin(p.lon * r), Math.sin(p.lat * r)];
  const [x1, y1, z1] = v(a);
  const [x2, y2, z2] = v(b);
  const cross = Math.hypot(y1 * z2 - z1 * y2, z1 * x2 - x1 * z2, x1 * y2 - y1 * x2);
  return Math.atan2(cross, x1 * x2 + y1 * y2 + z1 * z2) * EARTH_RADIUS_KM;
}

describe('haversineKm', () => {
  it('matches known great-circle distances', () => {
    assert.ok(Math.abs(haversineKm(SHANGHAI, BEIJING) - 1067.3) < 1, String(haversineKm(SHANGHAI, BEIJING)));
    const london = { lat: 51.5074, lon: -0.1278 };
    const paris = { lat: 48.8566, lon: 2.3522 };
    assert.ok(Math.abs(haversineKm(london, paris) - 343.6) < 1);
    assert.ok(Math.abs(haversineKm({ lat: 0, lon: 0 }, { lat: 1, lon: 0 }) - 111.195) < 0.001);
    assert.ok(Math.abs(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 }) - Math.PI * EARTH_RADIUS_KM) < 1e-6);
    assert.equal(haversineKm(SHANGHAI, SHANGHAI), 0);
  });

  it('is not Euclidean on degrees: a degree of longitude shrinks with latitude', () => {
    const atEquator = haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 1 });
    const at60 = haversineKm({ lat: 60, lon: 0 }, { lat: 60, lon: 1 });
    assert.ok(Math.abs(at60 / atEquator - 0.5) < 0.001);
    // Across the antimeridian: 179E to 179W is 2 degrees, not 358.
    assert.ok(haversineKm({ lat: 0, lon: 179 }, { lat: 0, lon: -179 }) < 223);
  });

  it('is symmetric, bounded by half the circumference and agrees with the vector formula', () => {
    fc.assert(
      fc.property(pointArb, pointArb, (a, b) => {
        const d = haversineKm(a, b);
        assert.ok(d >= 0 && d <= Math.PI * EARTH_RADIUS_KM + 1e-6);
        assert.ok(Math.abs(d - haversineKm(b, a)) < 1e-9);
        assert.ok(Math.abs(d - chordAngleKm(a, b)) < 1e-3, `${d} vs ${chordAngleKm(a, b)}`);
      }),
      { numRuns: 500 },
    );
  });

  it('satisfies the triangle inequality (to 1 m: haversine is ill-conditioned near antipodes)', () => {
    fc.assert(
      fc.property(pointArb, pointArb, pointArb, (a, b, c) => {
        assert.ok(haversineKm(a, c) <= haversineKm(a, b) + haversineKm(b, c) + 1e-3);
      }),
      { numRuns: 300 },
    );
  });
});

describe('sphericalCentroid', () => {
  it('averages unit vectors, not degrees (antimeridian)', () => {
    const c = sphericalCentroid([
      { lat: 0, lon: 179 },
      { lat: 0, lon: -179 },
    ]);
    assert.ok(c);
    assert.ok(Math.abs(Math.abs(c.lon) - 180) < 1e-9, String(c.lon));
    assert.ok(Math.abs(c.lat) < 1e-9);
  });

  it('is null for no points and for antipodal pairs', () => {
    assert.equal(sphericalCentroid([]), null);
    assert.equal(
      sphericalCentroid([
        { lat: 0, lon: 0 },
        { lat: 0, lon: 180 },
      ]),
      null,
    );
  });

  it('lies between two points on the great circle', () => {
    const c = sphericalCentroid([SHANGHAI, BEIJING]);
    assert.ok(c);
    const half = haversineKm(SHANGHAI, BEIJING) / 2;
    assert.ok(Math.abs(haversineKm(c, SHANGHAI) - half) < 1e-6);
    assert.ok(Math.abs(haversineKm(c, BEIJING) - half) < 1e-6);
  });
});

describe('resolveRequester', () => {
  const fleet = [
    node({ id: 'a', region: 'cn-east', zone: 'sh', lat: 31.0, lon: 121.0 }),
    node({ id: 'b', region: 'cn-east', zone: 'sh', lat: 31.4, lon: 121.8, state: 'unhealthy' }),
    node({ id: 'c', region: 'cn-east', zone: 'hz', lat: 30.27, lon: 120.15 }),
    node({ id: 'd', region: 'cn-north', zone: 'bj', lat: 39.9, lon: 116.4 }),
  ];

  it('uses the given location when valid', () => {
    const r = resolveRequester({ region: 'cn-east', zone: 'sh', subZone: 'x', location: { lat: 1, lon: 2 } }, fleet);
    assert.deepEqual(r, { region: 'cn-east', zone: 'sh', subZone: 'x', location: { lat: 1, lon: 2 } });
  });

  it('falls back to the spherical centroid of its zone (any node state)', () => {
    const r = resolveRequester({ region: 'cn-east', zone: 'sh', location: null }, fleet);
    assert.equal(r.subZone, '');
    assert.deepEqual(r.location, sphericalCentroid([fleet[0].location, fleet[1].location]));
    assert.ok(r.location && Math.abs(r.location.lat - 31.2) < 0.01 && Math.abs(r.location.lon - 121.4) < 0.01);
  });

  it('ignores an invalid location and is independent of node order', () => {
    const r1 = resolveRequester({ region: 'cn-east', zone: 'sh', location: { lat: 91, lon: 0 } }, fleet);
    const r2 = resolveRequester({ region: 'cn-east', zone: 'sh' }, [...fleet].reverse());
    assert.deepEqual(r1, r2);
  });

  it('falls back to its region, then to null', () => {
    const r = resolveRequester({ region: 'cn-east', zone: 'nj' }, fleet);
    assert.deepEqual(r.location, sphericalCentroid([fleet[0].location, fleet[1].location, fleet[2].location]));
    assert.equal(resolveRequester({ region: 'us-west', zone: 'sf' }, fleet).location, null);
  });
});
