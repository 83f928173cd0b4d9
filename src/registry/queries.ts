/** Read-side helpers over the in-memory node map. */
import type { EdgeNode, NodeFilter, NodeRole, NodeState, ServiceProtocol } from '../domain';

export function matchesFilter(n: EdgeNode, f: NodeFilter): boolean {
  if (f.region !== undefined && n.region !== f.region) return false;
  if (f.zone !== undefined && n.zone !== f.zone) return false;
  if (f.state !== undefined && n.state !== f.state) return false;
  if (f.role !== undefined && n.role !== f.role) return false;
  if (f.service !== undefined && !n.services.some((s) => s.name === f.service)) return false;
  return true;
}

/** One endpoint of a service: a node offering it. */
export interface ServiceEndpoint {
  nodeId: string;
  address: string;
  port: number;
  protocol: ServiceProtocol;
  role: NodeRole;
  region: string;
  zone: string;
  subZone: string;
  state: NodeState;
}

export interface ServiceSummary {
  name: string;
  endpoints: ServiceEndpoint[];
}

/** Every service name with the nodes offering it, sorted by name then node id. */
export function summarizeServices(nodes: Iterable<EdgeNode>): ServiceSummary[] {
  const byName = new Map<string, ServiceEndpoint[]>();
  for (const n of nodes) {
    for (const s of n.services) {
      let eps = byName.get(s.name);
      if (!eps) byName.set(s.name, (eps = []));
      eps.push({
        nodeId: n.id,
        address: n.address,
        port: s.port,
        protocol: s.protocol,
        role: n.role,
        region: n.region,
        zone: n.zone,
        subZone: n.subZone,
        state: n.state,
      });
    }
  }
  return [...byName.keys()].sort().map((name) => ({
    name,
    endpoints: (byName.get(name) as ServiceEndpoint[]).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)),
  }));
}
