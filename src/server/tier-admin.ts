/**
 * Connects the REST API's TierAdmin to the registry and, on a relay, to the
 * relay tier: /v1/relays, /v1/bootstrap/{nodeId}, /v1/tier.
 *
 * Bootstraps in secure mode (docs/SECURITY.md, "bootstraps"):
 *  - Envoy: the xds_cluster speaks mTLS with the node's certificate files from
 *    `certDir` (default /etc/edge-xds, what `edge-xds enroll --out` writes),
 *    read through filesystem SDS so renewals apply without a restart; the
 *    server is checked against the deployment CA and its address (SAN, SNI).
 *  - gRPC: xds_servers names this server's plaintext xDS listener (grpc-js-xds
 *    cannot do TLS there) and node.metadata["edge-xds-credential"] carries the
 *    node's own token when the node fetched its bootstrap with it. The server
 *    keeps only hashes of tokens, so for any other caller (admin, read, the
 *    node's certificate) it carries NODE_TOKEN_PLACEHOLDER instead: a template
 *    to fill from the node's DIR/node-token (`edge-xds bootstrap
 *    --node-token-file`). With the plaintext listener off: 409 naming
 *    --xds-plaintext-port.
 * In --insecure mode bootstraps are exactly those of the open mode.
 */
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { ApiError } from '../api';
import type { BootstrapCredential, BootstrapResult, RelaysQuery, TierAdmin } from '../api/tier-routes';
import { certDirProblem, renderEnvoyBootstrap, renderGrpcBootstrap, NODE_TOKEN_PLACEHOLDER, type XdsServerAddress } from '../bootstrap';
import { NODE_CREDENTIAL_KEY } from '../xds';
import type { Registry } from '../registry';
import { listRelays, type RelaySyncServer, type RelayTier } from '../relay';
import type { Outbox } from '../relay/outbox';

export interface TierAdminOptions {
  registry: Registry;
  role: 'global' | 'regional';
  /** This server's xDS port, and the host bootstraps name for it (bootstrapXdsHost). */
  xdsPort: () => number;
  xdsHost: string;
  /** Regional: the global tier's addresses. */
  upstreams: string[];
  relay?: { tier: RelayTier; outbox: Outbox; relayId: () => string };
  sync?: RelaySyncServer;
  /** Secure mode (null or absent with --insecure): what bootstraps need to know of it. */
  security?: TierAdminSecurity | null;
}

export interface TierAdminSecurity {
  /** Bind address of the plaintext xDS listener (--xds-plaintext-host). */
  plaintextHost: string;
  /** Its bound port: null when the listener is off (no --xds-plaintext-port), 0 while it is not listening (starting, stopping). */
  plaintextPort: () => number | null;
}

/** Per-request choices of a bootstrap (GET /v1/bootstrap/{id}?certDir=...). */
export interface BootstrapOptions {
  /** Envoy, secure mode: the folder of the node's certificate files on the proxy's host (default /etc/edge-xds). */
  certDir?: string;
}

/** Where the host bootstraps name for this server came from. */
export type XdsHostSource = 'advertise-address' | 'listen-address' | 'interface' | 'loopback';

function isWildcard(host: string): boolean {
  if (host === '0.0.0.0') return true;
  return isIP(host) === 6 && /^[0:]+$/.test(host);
}

/**
 * The host this server's bootstraps name as the global xDS server, from
 * configuration only: --advertise-address; else the listen address (--host);
 * else, when that is a wildcard (0.0.0.0, ::), this machine's first
 * non-internal IPv4 address, and 127.0.0.1 when it has none.
 */
export function bootstrapXdsHost(
  listenHost: string,
  advertiseAddress: string | null,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): { host: string; source: XdsHostSource } {
  if (advertiseAddress) return { host: advertiseAddress, source: 'advertise-address' };
  if (listenHost !== '' && !isWildcard(listenHost)) return { host: listenHost, source: 'listen-address' };
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return { host: a.address, source: 'interface' };
  }
  return { host: '127.0.0.1', source: 'loopback' };
}

function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

function parseHostPort(hp: string): XdsServerAddress {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
}

export class ServerTierAdmin implements TierAdmin {
  constructor(private readonly o: TierAdminOptions) {}

  relays(q: RelaysQuery): unknown[] {
    return listRelays(this.o.registry.nodes().values(), { region: q.region, near: q.near });
  }

  /** xDS servers for a node: its region's relays nearest first (healthy first), the global tier last. */
  xdsServersFor(nodeId: string): XdsServerAddress[] | null {
    const node = this.o.registry.getNode(nodeId);
    if (!node) return null;
    const relays = listRelays(this.o.registry.nodes().values(), { region: node.region, near: node.location, healthyFirst: true })
      // The port comes from a label any registration may set: only a real port makes it into a bootstrap.
      .filter((r) => isPort(r.xdsPort) && r.state !== 'draining' && r.id !== node.id)
      .map((r) => ({ host: r.address, port: r.xdsPort }));
    const globals = this.o.role === 'global' ? [{ host: this.o.xdsHost, port: this.o.xdsPort() }] : this.o.upstreams.map(parseHostPort);
    const seen = new Set<string>();
    return [...relays, ...globals].filter((s) => {
      const k = `${s.host}:${s.port}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  /**
   * The bootstrap of a node. `credential` is set in secure mode (the caller's
   * own node token, or null); a bad `options.certDir` is a 400 naming certDir
   * (checked in both modes; in --insecure mode it is otherwise unused).
   */
  bootstrap(nodeId: string, format: 'envoy' | 'grpc', mode: 'delta' | 'sotw', credential?: BootstrapCredential, options: BootstrapOptions = {}): BootstrapResult {
    if (options.certDir !== undefined) {
      const problem = certDirProblem(options.certDir);
      if (problem !== null) throw new ApiError(400, 'invalid_field', `certDir: ${problem}`, 'certDir');
    }
    const node = this.o.registry.getNode(nodeId);
    const servers = this.xdsServersFor(nodeId);
    if (!node || !servers) return { ok: false, error: 'unknown_node', message: `node "${nodeId}" is not registered` };
    const locality = { region: node.region, zone: node.zone, subZone: node.subZone };
    const sec = this.o.security ?? null;
    if (format === 'grpc') {
      if (sec) return this.secureGrpcBootstrap(nodeId, locality, sec, credential?.nodeToken ?? null);
      if (servers.length === 0) return { ok: false, error: 'no_servers', message: 'no xDS server is known for this node' };
      return { ok: true, contentType: 'application/json', body: JSON.stringify(renderGrpcBootstrap({ nodeId, locality, xdsServers: servers }), null, 2) };
    }
    if (servers.length === 0) return { ok: false, error: 'no_servers', message: 'no xDS server is known for this node' };
    const tls = sec ? { certDir: options.certDir } : null;
    const yaml = renderEnvoyBootstrap({ nodeId, locality, xdsServers: servers, mode, role: node.role === 'gateway' ? 'gateway' : 'sidecar', tls });
    return { ok: true, contentType: 'application/yaml', body: yaml };
  }

  /**
   * Secure mode, proxyless gRPC: this server's plaintext listener, named by
   * its bind address, or by the advertised address when it listens on a
   * wildcard, after the region's relays that publish theirs (nearest first).
   */
  private secureGrpcBootstrap(nodeId: string, locality: { region: string; zone: string; subZone: string }, sec: TierAdminSecurity, nodeToken: string | null): BootstrapResult {
    // The region's relays that publish a plaintext listener, nearest first (healthy first), then this server's own.
    const node = this.o.registry.getNode(nodeId)!;
    const relays = listRelays(this.o.registry.nodes().values(), { region: node.region, near: node.location, healthyFirst: true })
      .filter((r) => isPort(r.xdsPlaintextPort) && r.state !== 'draining' && r.id !== node.id)
      .map((r) => ({ host: r.address, port: r.xdsPlaintextPort }));
    const port = sec.plaintextPort();
    const own = port !== null && port !== 0 ? [{ host: isWildcard(sec.plaintextHost) || sec.plaintextHost === '' ? this.o.xdsHost : sec.plaintextHost, port }] : [];
    const servers = [...relays, ...own].filter((s, i, all) => all.findIndex((x) => x.host === s.host && x.port === s.port) === i);
    if (servers.length === 0 && port === null) {
      return {
        ok: false,
        error: 'no_servers',
        message:
          'gRPC clients (grpc-js-xds) reach secure-mode edge-xds only on a plaintext xDS listener, and neither this server nor a relay of the region has one: start the server with --xds-plaintext-port (and --xds-plaintext-host for clients on other hosts; docs/SECURITY.md)',
      };
    }
    if (servers.length === 0) return { ok: false, error: 'no_servers', message: 'the plaintext xDS listener is not listening (the server is starting or stopping); retry' };
    const b = renderGrpcBootstrap({ nodeId, locality, xdsServers: servers, metadata: { [NODE_CREDENTIAL_KEY]: nodeToken ?? NODE_TOKEN_PLACEHOLDER } });
    return { ok: true, contentType: 'application/json', body: JSON.stringify(b, null, 2) };
  }

  async status(): Promise<unknown> {
    if (this.o.role === 'global') return { role: 'global', relaysConnected: this.o.sync?.connectedRelays() ?? [] };
    const r = this.o.relay!;
    return {
      role: 'regional',
      relayId: r.relayId(),
      upstream: r.tier.link.upstream,
      connected: r.tier.link.isConnected,
      inSync: r.tier.source.synced,
      outboxPending: await r.outbox.pending(),
      outboxEpoch: r.outbox.epoch,
      epochResets: r.tier.epochResets,
      views: r.tier.source.modes(),
    };
  }
}
