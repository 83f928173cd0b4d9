/**
 * Geography: great-circle distance and spherical centroids, and placing a
 * requesting proxy at a point (resolveRequester).
 */
import type { EdgeNode, GeoLocation } from '../domain';
import type { Requester } from './types';

/** Mean Earth radius (IUGG), km. */
export const EARTH_RADIUS_KM = 6371.0088;

const RAD = Math.PI / 180;

/** Great-circle distance in km between two points (haversine formula). */
export function haversineKm(a: GeoLocation, b: GeoLocation): number {
  const phi1 = a.lat * RAD;
  const phi2 = b.lat * RAD;
  const dPhi = (b.lat - a.lat) * RAD;
  const dLambda = (b.lon - a.lon) * RAD;
  const s = Math.sin(dPhi / 2) ** 2 + Math.cos(phi1) * Math.cos(phi2) * Math.sin(dLambda / 2) ** 2;
  // Clamp: rounding can push s a hair outside [0,1] for (near-)antipodal points.
  const h = Math.min(1, Math.max(0, s));
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(h));
}

/** A usable point: finite, lat in [-90,90], lon in [-180,180]. */
export function isValidLocation(loc: GeoLocation | null | undefined): loc is GeoLocation {
  return loc != null && Number.isFinite(loc.lat) && Number.isFinite(loc.lon) && loc.lat >= -90 && loc.lat <= 90 && loc.lon >= -180 && loc.lon <= 180;
}

/**
 * Centroid on the sphere: the normalised mean of the points' unit vectors,
 * converted back to lat/lon. Returns null for no points or when the mean
 * vector is (near) zero (e.g. two antipodal points), where no centroid exists.
 * Callers must pass points in a deterministic order for bit-identical output.
 */
export function sphericalCentroid(points: readonly GeoLocation[]): GeoLocation | null {
  let x = 0;
  let y = 0;
  let z = 0;
  for (const p of points) {
    const phi = p.lat * RAD;
    const lambda = p.lon * RAD;
    x += Math.cos(phi) * Math.cos(lambda);
    y += Math.cos(phi) * Math.sin(lambda);
    z += Math.sin(phi);
  }
  if (points.length === 0) return null;
  const norm = Math.sqrt(x * x + y * y + z * z);
  if (norm / points.length < 1e-9) return null;
  const lat = Math.asin(Math.max(-1, Math.min(1, z / norm))) / RAD;
  const hyp = Math.sqrt(x * x + y * y);
  // At a pole the longitude is arbitrary: report 0 for determinism.
  const lon = hyp < 1e-12 ? 0 : Math.atan2(y, x) / RAD;
  return { lat, lon };
}

export interface RequesterInput {
  region: string;
  zone: string;
  subZone?: string;
  location?: GeoLocation | null;
}

/**
 * Places a requesting proxy: its own location when given (and valid), else
 * the spherical centroid of the registered nodes (any role, any state) of its
 * zone, else of its region, else null (distance then plays no part).
 */
export function resolveRequester(input: RequesterInput, nodes: Iterable<EdgeNode>): Requester {
  const base = { region: input.region, zone: input.zone, subZone: input.subZone ?? '' };
  if (isValidLocation(input.location)) {
    return { ...base, location: { lat: input.location.lat, lon: input.location.lon } };
  }
  const inRegion: EdgeNode[] = [];
  for (const n of nodes) {
    if (n.region === input.region && isValidLocation(n.location)) inRegion.push(n);
  }
  inRegion.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const inZone = inRegion.filter((n) => n.zone === input.zone);
  const location = sphericalCentroid(inZone.map((n) => n.location)) ?? sphericalCentroid(inRegion.map((n) => n.location));
  return { ...base, location };
}
