/**
 * The seam between the config side (registry + model -> snapshots) and the
 * protocol side (streams). Streams know nothing of how snapshots are built.
 */
import type { Snapshot } from './snapshot';
import type { ProxyIdentity, ViewKey } from './proxy';

export interface SnapshotSource {
  /** Which view this proxy belongs to. */
  viewFor(proxy: ProxyIdentity): ViewKey;
  /**
   * The current snapshot of a view, computing it if needed; counts the view as
   * in use. null means "not yet": the snapshot will come through watch() (a
   * relay waiting for the global tier), and nothing is sent until then.
   */
  acquire(view: ViewKey): Snapshot | null;
  /** The view is no longer used by one stream. */
  release(view: ViewKey): void;
  /** Called with every new snapshot of the view (after coalescing). Returns an unsubscribe function. */
  watch(view: ViewKey, fn: (snapshot: Snapshot) => void): () => void;
}

/**
 * A source that produces views by key (the mesh source): what a relay's own
 * computation and the global tier's relay sync service depend on, rather than
 * on the concrete MeshSource.
 */
export interface ViewProducer extends SnapshotSource {
  /** Makes sure a view exists for a key (as made by viewFor on any tier); false for a malformed key. */
  ensureView(view: ViewKey): boolean;
  /** The current snapshot of a view without holding it. */
  peek(view: ViewKey): Snapshot | null;
  /** Runs `fn` once the snapshots reflecting everything applied so far are published. */
  afterFlush(fn: () => void): void;
}
