/**
 * Domain types of the registry: what an edge node is, what it reports, and the
 * change notifications the rest of the system (model, xDS, relay) consumes.
 * These types are the contract between the registry and everything else; they
 * carry no knex, express or gRPC types.
 */

export type NodeRole = 'edge' | 'relay' | 'gateway';
export type NodeState = 'healthy' | 'suspect' | 'unhealthy' | 'draining';
export type ServiceProtocol = 'http' | 'grpc' | 'tcp';

export interface GeoLocation {
  lat: number;
  lon: number;
}

export interface ServicePort {
  name: string;
  port: number;
  protocol: ServiceProtocol;
}

export interface Capacity {
  cpu?: number;
  memoryMb?: number;
  maxRps?: number;
}

export interface LoadReport {
  cpu: number; // [0,1]
  memory: number; // [0,1]
  network: number; // [0,1]
}

export interface NetworkReport {
  latencyMs: number;
  jitterMs: number;
  packetLoss: number; // [0,1]
}

/** A heartbeat as received (fields the node did not send are absent). */
export interface HeartbeatInput {
  load?: Partial<LoadReport>;
  network?: Partial<NetworkReport>;
}

/** Exponentially weighted moving averages of everything heartbeats report. */
export interface SmoothedStats extends LoadReport, NetworkReport {
  samples: number;
}

export interface LastHeartbeat {
  at: number; // ms since epoch, server clock
  load: Partial<LoadReport>;
  network: Partial<NetworkReport>;
}

/** Registration payload after validation (canonical REST shape). */
export interface NodeRegistration {
  id: string;
  role: NodeRole;
  region: string;
  zone: string;
  subZone: string;
  location: GeoLocation;
  address: string;
  services: ServicePort[];
  capacity: Capacity;
  labels: Record<string, string>;
}

/** A registered node as the registry knows it now. */
export interface EdgeNode extends NodeRegistration {
  state: NodeState;
  registeredAt: number; // ms since epoch
  updatedAt: number; // ms since epoch
  lastHeartbeat: LastHeartbeat | null;
  stats: SmoothedStats | null;
  /** Set while draining: when the node will be removed (ms since epoch). */
  drainUntil: number | null;
}

export type RegistryEventType = 'registered' | 'healthy' | 'suspect' | 'unhealthy' | 'draining' | 'deregistered' | SecurityEventType;
/** Security events (secure mode): a refused credential or request, a revocation, an enrollment or renewal. */
export type SecurityEventType = 'auth-denied' | 'revoked' | 'enrolled';

/** One row of the append-only event log. */
export interface RegistryEvent {
  seq: number;
  at: number; // ms since epoch
  nodeId: string;
  type: RegistryEventType;
  detail: Record<string, unknown>;
}

/**
 * What changed, pushed to listeners synchronously after it is durable.
 * `services` names every service whose endpoints may differ because of it
 * (for a re-registration, the union of old and new services).
 */
export type RegistryChange = { what: 'node'; nodeId: string; services: string[]; event: RegistryEventType } | { what: 'heartbeat'; nodeId: string; services: string[] };

export interface NodeFilter {
  region?: string;
  zone?: string;
  state?: NodeState;
  service?: string;
  role?: NodeRole;
}

/**
 * The read side of the registry that the model and the xDS layer use: an
 * in-memory view kept in step with the database, so building config never
 * touches the database.
 */
export interface RegistryView {
  /** Every node, current state. The map must not be mutated by callers. */
  nodes(): ReadonlyMap<string, EdgeNode>;
  getNode(id: string): EdgeNode | undefined;
  /** Subscribe to changes; returns an unsubscribe function. */
  onChange(listener: (change: RegistryChange) => void): () => void;
}

/**
 * The node.metadata key that carries a node's own API token on the plaintext
 * xDS listener (proxyless gRPC clients in secure mode). Read by the xDS
 * server, written into gRPC bootstraps.
 */
export const NODE_CREDENTIAL_KEY = 'edge-xds-credential';
