/**
 * Immutable snapshots: what one view (requesting locality + client kind) should
 * have. Changes make a new snapshot; nothing mutates one in place.
 */
import { contentHash, type EncodedResource } from './encoded-resource';
import { RESOURCE_KINDS, type ResourceKind } from './protos';

/** All resources of one type in a view, sorted by name, with a content-derived version. */
export interface ResourceSet {
  readonly kind: ResourceKind;
  /** Hash over (name, version) of every resource: same content, same version, after restarts too. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
}

export type Snapshot = Readonly<Record<ResourceKind, ResourceSet>>;

export function resourceSet(kind: ResourceKind, resources: Iterable<EncodedResource>): ResourceSet {
  const sorted = [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const map = new Map<string, EncodedResource>();
  for (const r of sorted) {
    if (r.kind !== kind) throw new Error(`resource ${r.name} is a ${r.kind}, not a ${kind}`);
    if (map.has(r.name)) throw new Error(`duplicate ${kind} resource name ${r.name}`);
    map.set(r.name, r);
  }
  const version = contentHash(sorted.map((r) => `${r.name}\u0000${r.version}`).join('\u0001') + `#${kind}`);
  return { kind, version, resources: map };
}

/** Reuses `prev` when the new set has the same content, so identity means "unchanged". */
export function sameOrNew(prev: ResourceSet | undefined, next: ResourceSet): ResourceSet {
  return prev && prev.version === next.version ? prev : next;
}

export function emptySnapshot(): Snapshot {
  const out = {} as Record<ResourceKind, ResourceSet>;
  for (const k of RESOURCE_KINDS) out[k] = resourceSet(k, []);
  return out;
}

/** Names whose resource differs between two sets (added, changed or removed). */
export function changedNames(prev: ResourceSet | undefined, next: ResourceSet): Set<string> {
  const out = new Set<string>();
  if (prev === next) return out;
  for (const [name, r] of next.resources) if (prev?.resources.get(name) !== r && prev?.resources.get(name)?.version !== r.version) out.add(name);
  if (prev) for (const name of prev.resources.keys()) if (!next.resources.has(name)) out.add(name);
  return out;
}

/**
 * Consistency checks that live next to the type: every ClusterLoadAssignment
 * belongs to a cluster, every route configuration a listener refers to exists.
 */
export function snapshotProblems(s: Snapshot): string[] {
  const problems: string[] = [];
  for (const name of s.endpoint.resources.keys()) {
    if (!s.cluster.resources.has(name)) problems.push(`ClusterLoadAssignment ${name} has no Cluster`);
  }
  return problems;
}
