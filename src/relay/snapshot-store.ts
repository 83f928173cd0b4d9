/**
 * The snapshots a relay received from the global tier, kept in its own
 * database so that after a restart with the upstream unreachable it serves
 * them at once, byte for byte.
 */
import type { Knex } from 'knex';
import { encodedResource, type EncodedResource } from '../xds/encoded-resource';
import { resourceSet, type Snapshot } from '../xds/snapshot';
import { RESOURCE_KINDS, type ResourceKind } from '../xds/protos';

interface Row {
  view_key: string;
  kind: string;
  name: string;
  version: string;
  body: Buffer;
}

export interface StoredChange {
  view: string;
  upserts: EncodedResource[];
  removed: Array<{ kind: ResourceKind; name: string }>;
}

function isKind(k: string): k is ResourceKind {
  return (RESOURCE_KINDS as readonly string[]).includes(k);
}

/** A snapshot from a flat list of resources (every kind present, possibly empty). */
export function snapshotOf(resources: Iterable<EncodedResource>): Snapshot {
  const by: Record<ResourceKind, EncodedResource[]> = { cluster: [], endpoint: [], listener: [], route: [] };
  for (const r of resources) by[r.kind].push(r);
  return {
    cluster: resourceSet('cluster', by.cluster),
    endpoint: resourceSet('endpoint', by.endpoint),
    listener: resourceSet('listener', by.listener),
    route: resourceSet('route', by.route),
  };
}

export class SnapshotStore {
  constructor(private readonly db: Knex) {}

  /** Every stored view, as snapshots. */
  async loadAll(): Promise<Map<string, Snapshot>> {
    const rows = (await this.db('relay_resources').select('*').orderBy(['view_key', 'kind', 'name'])) as Row[];
    const byView = new Map<string, EncodedResource[]>();
    for (const r of rows) {
      if (!isKind(r.kind)) continue;
      let list = byView.get(r.view_key);
      if (!list) byView.set(r.view_key, (list = []));
      list.push(encodedResource(r.kind, r.name, Buffer.from(r.body), r.version));
    }
    const out = new Map<string, Snapshot>();
    for (const [view, list] of byView) out.set(view, snapshotOf(list));
    return out;
  }

  /** Applies changes of several views in one transaction. */
  async save(changes: StoredChange[]): Promise<void> {
    if (changes.every((c) => c.upserts.length === 0 && c.removed.length === 0)) return;
    await this.db.transaction(async (trx) => {
      for (const c of changes) {
        for (const r of c.removed) await trx('relay_resources').where({ view_key: c.view, kind: r.kind, name: r.name }).delete();
        const rows = c.upserts.map((r) => ({ view_key: c.view, kind: r.kind, name: r.name, version: r.version, body: r.bytes }));
        for (let i = 0; i < rows.length; i += 200) {
          await trx('relay_resources')
            .insert(rows.slice(i, i + 200))
            .onConflict(['view_key', 'kind', 'name'])
            .merge();
        }
      }
    });
  }

  async dropView(view: string): Promise<void> {
    await this.db('relay_resources').where({ view_key: view }).delete();
  }
}
