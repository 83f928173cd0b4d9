/** Canonical payloads used across tests. */
import type { NodeRegistration } from '../../src/domain';

/** The registration example of issue 2, with an optional id/overrides. */
export function registration(overrides: Partial<NodeRegistration> & Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'edge-sh-01',
    role: 'edge',
    region: 'cn-east',
    zone: 'shanghai-a',
    subZone: 'rack-1',
    location: { lat: 31.23, lon: 121.47 },
    address: '10.0.0.5',
    services: [{ name: 'camera-ingest', port: 8080, protocol: 'http' }],
    capacity: { cpu: 4, memoryMb: 4096, maxRps: 500 },
    labels: { tier: 'gold' },
    ...overrides,
  };
}

/** The heartbeat example of issue 2. */
export const HEARTBEAT = { load: { cpu: 0.3, memory: 0.5, network: 0.2 }, network: { latencyMs: 50, jitterMs: 10, packetLoss: 0.01 } };

/** Exactly what the seed's EdgeNodeRegistry.register() sends (requests json=). */
export function seedRegistration(nodeId = 'edge-node-01', location: [number, number] = [31.23, 121.47]): Record<string, unknown> {
  return { node_id: nodeId, location, ip: '192.168.1.20', capabilities: { cpu: 4, memory: 8192, gpu: true }, timestamp: 1700000000 };
}

/** Exactly what the seed's EdgeNodeRegistry.send_heartbeat() sends. */
export function seedHeartbeat(nodeId = 'edge-node-01'): Record<string, unknown> {
  return {
    node_id: nodeId,
    load: { cpu: 0.3, memory: 0.5, network: 0.2 },
    network_status: { latency: 50, jitter: 10, packet_loss: 0.01 },
    timestamp: 1700000030,
  };
}
