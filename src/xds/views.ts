/**
 * View keys: which proxies share a snapshot. A view is a client kind and a
 * place (region, zone, location rounded to ~100 m, or "centroid" when only
 * the zone is known); the key is the same on every tier for the same inputs.
 */
import type { GeoLocation } from '../domain';
import type { ClientKind, RequesterInput } from '../model';
import type { ViewKey } from './proxy';

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A requester location from node metadata: {lat, lon}, {location: {lat, lon}} or {location: "lat,lon"}. */
export function locationFromMetadata(md: Record<string, unknown>): GeoLocation | null {
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : null);
  let lat = num(md.lat);
  let lon = num(md.lon);
  const loc = md.location;
  if ((lat === null || lon === null) && loc && typeof loc === 'object') {
    lat = num((loc as Record<string, unknown>).lat);
    lon = num((loc as Record<string, unknown>).lon);
  } else if ((lat === null || lon === null) && typeof loc === 'string') {
    const [a, b] = loc.split(',');
    lat = num(a);
    lon = num(b);
  }
  if (lat === null || lon === null || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  if (lat < -90 || lat > 90 || lon < -180 || lon > 180) return null;
  return { lat, lon };
}

/** The inverse of viewKeyFor. */
export function parseViewKey(key: ViewKey): { clientKind: ClientKind; requester: RequesterInput } | null {
  const parts = key.split('|');
  if (parts.length !== 4) return null;
  const [kind, region, zone, token] = parts as [string, string, string, string];
  if (kind !== 'envoy' && kind !== 'grpc') return null;
  let location: GeoLocation | null = null;
  if (token !== 'centroid') {
    const [lat, lon] = token.split(',').map(Number);
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat!) > 90 || Math.abs(lon!) > 180) return null;
    location = { lat: lat!, lon: lon! };
  }
  try {
    return { clientKind: kind, requester: { region: decodeURIComponent(region), zone: decodeURIComponent(zone), location } };
  } catch {
    return null;
  }
}

/** The location a view is computed for: rounded so that nearby proxies share a view. */
export function viewLocation(loc: GeoLocation | null | undefined): GeoLocation | null {
  return loc ? { lat: round(loc.lat, 3), lon: round(loc.lon, 3) } : null;
}

export function viewKey(kind: ClientKind, requester: RequesterInput): ViewKey {
  const loc = viewLocation(requester.location);
  const token = loc ? `${loc.lat},${loc.lon}` : 'centroid';
  return `${kind}|${encodeURIComponent(requester.region)}|${encodeURIComponent(requester.zone)}|${token}`;
}
