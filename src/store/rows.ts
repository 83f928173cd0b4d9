/** Row shapes of the tables and their mapping to domain types. */
import type { Capacity, EdgeNode, LastHeartbeat, NodeRole, NodeState, RegistryEvent, RegistryEventType, ServicePort, ServiceProtocol, SmoothedStats } from '../domain';

export interface NodeRow {
  id: string;
  role: string;
  region: string;
  zone: string;
  sub_zone: string;
  lat: number;
  lon: number;
  address: string;
  labels: string;
  capacity: string;
  state: string;
  drain_until: number | string | null;
  registered_at: number | string;
  updated_at: number | string;
}

export interface ServiceRow {
  node_id: string;
  name: string;
  port: number;
  protocol: string;
}

export interface HeartbeatRow {
  node_id: string;
  at: number | string;
  load_cpu: number | null;
  load_memory: number | null;
  load_network: number | null;
  net_latency_ms: number | null;
  net_jitter_ms: number | null;
  net_packet_loss: number | null;
  ewma_cpu: number;
  ewma_memory: number;
  ewma_network: number;
  ewma_latency_ms: number;
  ewma_jitter_ms: number;
  ewma_packet_loss: number;
  samples: number;
}

export interface EventRow {
  seq: number;
  at: number | string;
  node_id: string;
  type: string;
  detail: string;
}

/** An event to append (seq is assigned by the database). */
export interface NewEvent {
  at: number;
  nodeId: string;
  type: RegistryEventType;
  detail: Record<string, unknown>;
}

/** A state change of an existing node row. */
export interface StateUpdate {
  nodeId: string;
  state: NodeState;
  drainUntil: number | null;
}

// PostgreSQL returns bigint columns as strings; SQLite as numbers.
const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));
const opt = (v: number | null | undefined): number | undefined => (v === null || v === undefined ? undefined : v);

export function nodeToRow(n: EdgeNode): NodeRow {
  return {
    id: n.id,
    role: n.role,
    region: n.region,
    zone: n.zone,
    sub_zone: n.subZone,
    lat: n.location.lat,
    lon: n.location.lon,
    address: n.address,
    labels: JSON.stringify(n.labels),
    capacity: JSON.stringify(n.capacity),
    state: n.state,
    drain_until: n.drainUntil,
    registered_at: n.registeredAt,
    updated_at: n.updatedAt,
  };
}

export function servicesToRows(n: EdgeNode): ServiceRow[] {
  return n.services.map((s) => ({ node_id: n.id, name: s.name, port: s.port, protocol: s.protocol }));
}

export function rowToNode(r: NodeRow, services: ServicePort[], hb: HeartbeatRow | undefined): EdgeNode {
  const { lastHeartbeat, stats } = hb ? rowToHeartbeat(hb) : { lastHeartbeat: null, stats: null };
  return {
    id: r.id,
    role: r.role as NodeRole,
    region: r.region,
    zone: r.zone,
    subZone: r.sub_zone,
    location: { lat: r.lat, lon: r.lon },
    address: r.address,
    services,
    capacity: JSON.parse(r.capacity) as Capacity,
    labels: JSON.parse(r.labels) as Record<string, string>,
    state: r.state as NodeState,
    registeredAt: num(r.registered_at),
    updatedAt: num(r.updated_at),
    lastHeartbeat,
    stats,
    drainUntil: r.drain_until === null ? null : num(r.drain_until),
  };
}

export function rowToService(r: ServiceRow): ServicePort {
  return { name: r.name, port: r.port, protocol: r.protocol as ServiceProtocol };
}

export function heartbeatToRow(nodeId: string, last: LastHeartbeat, s: SmoothedStats): HeartbeatRow {
  return {
    node_id: nodeId,
    at: last.at,
    load_cpu: last.load.cpu ?? null,
    load_memory: last.load.memory ?? null,
    load_network: last.load.network ?? null,
    net_latency_ms: last.network.latencyMs ?? null,
    net_jitter_ms: last.network.jitterMs ?? null,
    net_packet_loss: last.network.packetLoss ?? null,
    ewma_cpu: s.cpu,
    ewma_memory: s.memory,
    ewma_network: s.network,
    ewma_latency_ms: s.latencyMs,
    ewma_jitter_ms: s.jitterMs,
    ewma_packet_loss: s.packetLoss,
    samples: s.samples,
  };
}

export function rowToHeartbeat(r: HeartbeatRow): { lastHeartbeat: LastHeartbeat; stats: SmoothedStats } {
  const load: LastHeartbeat['load'] = {};
  const network: LastHeartbeat['network'] = {};
  if (opt(r.load_cpu) !== undefined) load.cpu = r.load_cpu as number;
  if (opt(r.load_memory) !== undefined) load.memory = r.load_memory as number;
  if (opt(r.load_network) !== undefined) load.network = r.load_network as number;
  if (opt(r.net_latency_ms) !== undefined) network.latencyMs = r.net_latency_ms as number;
  if (opt(r.net_jitter_ms) !== undefined) network.jitterMs = r.net_jitter_ms as number;
  if (opt(r.net_packet_loss) !== undefined) network.packetLoss = r.net_packet_loss as number;
  return {
    lastHeartbeat: { at: num(r.at), load, network },
    stats: {
      cpu: r.ewma_cpu,
      memory: r.ewma_memory,
      network: r.ewma_network,
      latencyMs: r.ewma_latency_ms,
      jitterMs: r.ewma_jitter_ms,
      packetLoss: r.ewma_packet_loss,
      samples: r.samples,
    },
  };
}

export function rowToEvent(r: EventRow): RegistryEvent {
  return {
    seq: r.seq,
    at: num(r.at),
    nodeId: r.node_id,
    type: r.type as RegistryEventType,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  };
}

export function eventToRow(e: NewEvent): Omit<EventRow, 'seq'> {
  return { at: e.at, node_id: e.nodeId, type: e.type, detail: JSON.stringify(e.detail) };
}
