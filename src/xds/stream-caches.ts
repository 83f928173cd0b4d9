/**
 * What the streams of one xDS server share, so that streams of a view in the
 * same state cost one computation and one encoding: interned subscriptions,
 * SotW response bodies, delta diffs, and the names that differ between two
 * sets. Per-set entries hang off the ResourceSet (weakly): they go with it.
 */
import { changedNames, type ResourceSet } from './snapshot';
import type { EncodedResource } from './encoded-resource';
import type { DeltaParts } from './wire';
import { BoundedMap } from './bounded-map';
import { SubscriptionTable } from './protocol-state';

/** A SotW response without its nonce, shared by every stream sent the same resources of a set. */
export interface SotwBody {
  body: Buffer;
  /** How many resources it carries. */
  count: number;
}

/** What a delta proxy holding exactly the subscribed part of one set must be sent for another. */
export interface DeltaDiff {
  send: EncodedResource[];
  removed: string[];
  /** The encoded response parts, made when first sent. */
  parts: DeltaParts | null;
}

/** Values computed from one ResourceSet, by key; a few per set (one per subscription and base in use). */
export class PerSetCache<V> {
  private readonly bySet = new WeakMap<ResourceSet, BoundedMap<string, V>>();

  constructor(private readonly maxPerSet: number) {}

  get(set: ResourceSet, key: string): V | undefined {
    return this.bySet.get(set)?.get(key);
  }

  set(set: ResourceSet, key: string, value: V): V {
    let perSet = this.bySet.get(set);
    if (!perSet) this.bySet.set(set, (perSet = new BoundedMap({ maxEntries: this.maxPerSet })));
    perSet.set(key, value);
    return value;
  }
}

const MAX_PER_SET = 64;

export class SharedStreamCaches {
  readonly subscriptions = new SubscriptionTable();
  /** set -> subscription key (and, for an EDS/RDS update, `<` the version the proxy holds). */
  readonly sotwBodies = new PerSetCache<SotwBody>(MAX_PER_SET);
  /** set -> `${base version}|${subscription key}`. */
  readonly deltaDiffs = new PerSetCache<DeltaDiff>(MAX_PER_SET);
  private readonly changes = new WeakMap<ResourceSet, WeakMap<ResourceSet, Set<string>>>();

  /**
   * Names that differ between two sets of a view, computed once per pair: a
   * snapshot change costs each stream a look-up of the (few) changed names
   * in its subscription, not a comparison of all its names.
   */
  changedBetween(from: ResourceSet, to: ResourceSet): Set<string> {
    let byTo = this.changes.get(from);
    if (!byTo) this.changes.set(from, (byTo = new WeakMap()));
    let c = byTo.get(to);
    if (!c) byTo.set(to, (c = changedNames(from, to)));
    return c;
  }
}

let standalone: SharedStreamCaches | null = null;
/** The caches of streams made outside an XdsServer (tests, tools): shared by all of them, as a server's streams share its own. */
export function standaloneStreamCaches(): SharedStreamCaches {
  return (standalone ??= new SharedStreamCaches());
}
