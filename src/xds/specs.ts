/**
 * Registry nodes -> what CDS/LDS/RDS need of each service, and which node
 * endpoints serve it. Pure and deterministic.
 */
import type { EdgeNode, ServiceProtocol } from '../domain';
import type { ServiceSpec } from '../model/types';

export interface ServiceEndpoints {
  spec: ServiceSpec;
  endpoints: Array<{ node: EdgeNode; port: number }>;
}

/** Nodes that carry traffic for services (relays only relay config). */
function servesTraffic(n: EdgeNode): boolean {
  return n.role !== 'relay';
}

function mostCommon<T extends string | number>(values: T[]): T {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0] as T;
  let bestCount = 0;
  for (const [v, c] of counts) if (c > bestCount || (c === bestCount && v < best)) [best, bestCount] = [v, c];
  return best;
}

export function serviceIndex(nodes: Iterable<EdgeNode>): Map<string, ServiceEndpoints> {
  const byService = new Map<string, Array<{ node: EdgeNode; port: number; protocol: ServiceProtocol }>>();
  for (const node of nodes) {
    if (!servesTraffic(node)) continue;
    for (const s of node.services) {
      let list = byService.get(s.name);
      if (!list) byService.set(s.name, (list = []));
      list.push({ node, port: s.port, protocol: s.protocol });
    }
  }
  const out = new Map<string, ServiceEndpoints>();
  for (const name of [...byService.keys()].sort()) {
    const list = byService.get(name)!.sort((a, b) => (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : a.port - b.port));
    const spec: ServiceSpec = {
      name,
      protocol: mostCommon(list.map((e) => e.protocol)),
      port: mostCommon(list.map((e) => e.port)),
      totalMaxRps: list.reduce((sum, e) => sum + (e.node.capacity.maxRps ?? 0), 0),
      endpointCount: list.length,
    };
    out.set(name, { spec, endpoints: list.map(({ node, port }) => ({ node, port })) });
  }
  return out;
}

export function sameSpec(a: ServiceSpec | undefined, b: ServiceSpec | undefined): boolean {
  return !!a && !!b && a.name === b.name && a.protocol === b.protocol && a.port === b.port && a.totalMaxRps === b.totalMaxRps && a.endpointCount === b.endpointCount;
}
