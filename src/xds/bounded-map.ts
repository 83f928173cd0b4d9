/**
 * A Map that evicts its oldest entries (insertion order, not use) when full:
 * by count and, optionally, by a total weight the caller gives each entry
 * (characters of client-sent names). The caches shared between xDS streams
 * hold what clients send or what snapshots produce, so each needs a bound.
 */
export interface BoundedMapOptions {
  maxEntries: number;
  /** Bound on the sum of entry weights (default: none). */
  maxWeight?: number;
  /** An entry heavier than this is not kept at all (default: maxWeight). */
  maxEntryWeight?: number;
}

export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Weights by key, only when weights are bounded. */
  private readonly weights: Map<K, number> | null;
  private total = 0;
  readonly maxEntries: number;
  readonly maxWeight: number;
  readonly maxEntryWeight: number;

  constructor(opts: BoundedMapOptions) {
    if (!(opts.maxEntries >= 1)) throw new Error(`BoundedMap: maxEntries must be at least 1, not ${opts.maxEntries}`);
    this.maxEntries = opts.maxEntries;
    this.maxWeight = opts.maxWeight ?? Infinity;
    this.maxEntryWeight = Math.min(opts.maxEntryWeight ?? this.maxWeight, this.maxWeight);
    this.weights = opts.maxWeight === undefined ? null : new Map();
  }

  get size(): number {
    return this.map.size;
  }

  /** Sum of the weights of the entries held. */
  get weight(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /**
   * Stores `value` as the newest entry (replacing an entry of the same key),
   * evicting the oldest ones until it fits. Returns false, and changes
   * nothing, when the entry alone weighs more than maxEntryWeight.
   */
  set(key: K, value: V, weight = 0): boolean {
    if (weight > this.maxEntryWeight) return false;
    this.delete(key);
    while (this.map.size > 0 && (this.map.size >= this.maxEntries || this.total + weight > this.maxWeight)) {
      this.delete(this.map.keys().next().value as K);
    }
    this.map.set(key, value);
    if (this.weights) {
      this.weights.set(key, weight);
      this.total += weight;
    }
    return true;
  }

  delete(key: K): boolean {
    if (!this.map.delete(key)) return false;
    if (this.weights) {
      this.total -= this.weights.get(key) ?? 0;
      this.weights.delete(key);
    }
    return true;
  }

  clear(): void {
    this.map.clear();
    this.weights?.clear();
    this.total = 0;
  }

  /** Keys, oldest first. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
}
