/**
 * Secure mode of an Envoy bootstrap: the xds_cluster speaks mTLS. Envoy
 * presents the node's certificate (`edge-xds enroll --out DIR`: key.pem,
 * cert.pem, ca.pem) and checks the xDS server's certificate against the
 * deployment CA and the server's address (SNI for a DNS name, a SAN match for
 * names and IPs).
 *
 * The certificate and the CA are read through filesystem SDS
 * (DIR/envoy-sds-cert.yaml, DIR/envoy-sds-ca.yaml, see envoySdsFiles), not
 * inlined: Envoy reloads an inline `tls_certificates` entry only on restart
 * (its `watched_directory` "only applies when a TlsCertificate is delivered by
 * SDS", common.proto), while a secret sourced from a file is reloaded when
 * files are moved into DIR, so a renewed certificate (24 h lifetime) is used
 * for the next connection and the open ADS stream is not dropped. This is
 * Envoy's documented way to rotate the xDS connection's own certificate
 * ("certificate rotation for xDS gRPC connection", configuration/security/secret).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isIP } from 'node:net';
import { Document, parse } from 'yaml';

/** Where `edge-xds enroll --out` writes by default, and where bootstraps look unless told otherwise. */
export const DEFAULT_CERT_DIR = '/etc/edge-xds';
/** The files of a node's certificate folder (written by `edge-xds enroll --out DIR`). */
export const CERT_DIR_FILES = { key: 'key.pem', cert: 'cert.pem', ca: 'ca.pem', nodeToken: 'node-token' } as const;
/** The filesystem SDS files a secure Envoy bootstrap reads its certificate and CA through (in the same folder). */
export const SDS_FILES = { cert: 'envoy-sds-cert.yaml', ca: 'envoy-sds-ca.yaml' } as const;
/** Secret names inside those files (the bootstrap refers to them). */
export const SDS_SECRET_NAMES = { cert: 'edge-xds-node-cert', ca: 'edge-xds-ca' } as const;
export const MAX_CERT_DIR_LENGTH = 256;

const TLS_SOCKET = 'envoy.transport_sockets.tls';
const UPSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
/** Endpoint metadata key Envoy matches transport_socket_matches against. */
const SOCKET_MATCH_KEY = 'envoy.transport_socket_match';
const SERVER_MATCH_FIELD = 'edge_xds_server';

export interface EnvoyXdsTls {
  /** Absolute folder of the node's key.pem, cert.pem and ca.pem on the proxy's host (default /etc/edge-xds). */
  certDir?: string;
}

/**
 * Why `dir` cannot be a certificate folder, or null when it can: an absolute
 * path, no `..` segment, at most 256 characters of letters, digits and
 * `/ . _ - + @ = , ~` (it is written into YAML and handed to Envoy as is).
 */
export function certDirProblem(dir: unknown): string | null {
  if (typeof dir !== 'string' || dir === '') return 'must be an absolute path such as /etc/edge-xds';
  if (dir.length > MAX_CERT_DIR_LENGTH) return `must be at most ${MAX_CERT_DIR_LENGTH} characters`;
  if (!dir.startsWith('/')) return `must be an absolute path (starting with /), got "${dir}"`;
  if (!/^[A-Za-z0-9/._\-+@=,~]+$/.test(dir)) return 'may contain only letters, digits and / . _ - + @ = , ~';
  if (dir.split('/').includes('..')) return 'must not contain ".." segments';
  return null;
}

/** `dir` checked (throws naming `field`) and without trailing slashes. */
export function normalizeCertDir(dir: string, field = 'certDir'): string {
  const problem = certDirProblem(dir);
  if (problem !== null) throw new Error(`${field}: ${problem}`);
  return dir.length > 1 ? dir.replace(/\/+$/, '') || '/' : dir;
}

const inDir = (dir: string, file: string): string => path.posix.join(dir, file);

/** An IPv6 literal in the form Envoy prints IP SANs in (compressed, lower case); anything else unchanged. */
function canonicalHost(host: string): string {
  if (isIP(host) !== 6) return host;
  return new URL(`http://[${host}]/`).hostname.replace(/^\[|\]$/g, '');
}

function sdsConfig(certDir: string, name: string, file: string): Record<string, unknown> {
  return {
    name,
    sds_config: {
      // The folder, not the file, is watched: a file moved into it (a renewal) reloads the secret.
      path_config_source: { path: inDir(certDir, file), watched_directory: { path: certDir } },
      resource_api_version: 'V3',
    },
  };
}

/** UpstreamTlsContext for servers `hosts` (one: SNI when it is a DNS name; several: a SAN match for any of them). */
function upstreamTlsContext(certDir: string, hosts: string[]): Record<string, unknown> {
  const names = [...new Set(hosts.map(canonicalHost))];
  const ctx: Record<string, unknown> = { '@type': UPSTREAM_TLS_CONTEXT };
  // RFC 6066 allows no IP literal as a server name: for an IP the SAN match alone pins the server.
  if (names.length === 1 && isIP(names[0]!) === 0) ctx.sni = names[0];
  ctx.common_tls_context = {
    // Node's HTTP/2 server (grpc-js) closes a TLS connection that did not negotiate h2.
    alpn_protocols: ['h2'],
    tls_certificate_sds_secret_configs: [sdsConfig(certDir, SDS_SECRET_NAMES.cert, SDS_FILES.cert)],
    combined_validation_context: {
      default_validation_context: {
        match_typed_subject_alt_names: names.map((n) => ({ san_type: isIP(n) === 0 ? 'DNS' : 'IP_ADDRESS', matcher: { exact: n } })),
      },
      validation_context_sds_secret_config: sdsConfig(certDir, SDS_SECRET_NAMES.ca, SDS_FILES.ca),
    },
  };
  return ctx;
}

function tlsSocket(certDir: string, hosts: string[]): Record<string, unknown> {
  return { name: TLS_SOCKET, typed_config: upstreamTlsContext(certDir, hosts) };
}

/**
 * What secure mode adds to the xds_cluster: its transport_socket and, with
 * several servers, one transport_socket_matches entry per server (each with
 * its own SNI and SAN) plus the endpoint metadata that selects it.
 */
export interface XdsClusterTls {
  transportSocket: Record<string, unknown>;
  /** Empty for a single server (the cluster's transport_socket is that server's). */
  socketMatches: Array<Record<string, unknown>>;
  /** Metadata of the endpoint of server i (null for a single server). */
  endpointMetadata(i: number): Record<string, unknown> | null;
}

export function xdsClusterTls(tls: EnvoyXdsTls, servers: ReadonlyArray<{ host: string }>): XdsClusterTls {
  const certDir = normalizeCertDir(tls.certDir ?? DEFAULT_CERT_DIR);
  const hosts = servers.map((s) => s.host);
  if (servers.length === 1) return { transportSocket: tlsSocket(certDir, hosts), socketMatches: [], endpointMetadata: () => null };
  return {
    // Used only for an endpoint no match selects (none here): any of this bootstrap's servers.
    transportSocket: tlsSocket(certDir, hosts),
    socketMatches: servers.map((s, i) => ({ name: `xds-server-${i}`, match: { [SERVER_MATCH_FIELD]: String(i) }, transport_socket: tlsSocket(certDir, [s.host]) })),
    endpointMetadata: (i) => ({ filter_metadata: { [SOCKET_MATCH_KEY]: { [SERVER_MATCH_FIELD]: String(i) } } }),
  };
}

/**
 * The filesystem SDS files of a certificate folder, by file name: the node's
 * certificate and key, and the CA that verifies xDS servers. Their content
 * depends only on the folder, so writing them again is harmless.
 */
export function envoySdsFiles(certDir: string = DEFAULT_CERT_DIR): Record<string, string> {
  const dir = normalizeCertDir(certDir);
  const file = (comment: string, secret: Record<string, unknown>): string => {
    const doc = new Document({ resources: [{ '@type': SECRET, ...secret }] });
    doc.commentBefore = ` Generated by edge-xds for Envoy's xds_cluster (filesystem SDS). ${comment}`;
    return doc.toString({ lineWidth: 0 });
  };
  return {
    [SDS_FILES.cert]: file(`The node certificate: reloaded when ${CERT_DIR_FILES.cert} / ${CERT_DIR_FILES.key} are replaced.`, {
      name: SDS_SECRET_NAMES.cert,
      tls_certificate: {
        certificate_chain: { filename: inDir(dir, CERT_DIR_FILES.cert) },
        private_key: { filename: inDir(dir, CERT_DIR_FILES.key) },
        watched_directory: { path: dir },
      },
    }),
    [SDS_FILES.ca]: file(`The deployment CA that xDS servers are verified against: reloaded when ${CERT_DIR_FILES.ca} is replaced.`, {
      name: SDS_SECRET_NAMES.ca,
      validation_context: { trusted_ca: { filename: inDir(dir, CERT_DIR_FILES.ca) }, watched_directory: { path: dir } },
    }),
  };
}

/**
 * Writes envoySdsFiles(certDir) into certDir (each through a temp file and a
 * rename, mode 0644; a file already equal is left alone). Returns the paths
 * written.
 */
export function writeEnvoySdsFiles(certDir: string = DEFAULT_CERT_DIR): string[] {
  const dir = normalizeCertDir(certDir);
  const written: string[] = [];
  for (const [name, text] of Object.entries(envoySdsFiles(dir))) {
    const target = path.join(dir, name);
    if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === text) continue;
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, target);
    written.push(target);
  }
  return written;
}

/** The certificate folder a rendered Envoy bootstrap reads its xds_cluster certificate from, or null when its xds_cluster is plaintext. */
export function certDirOfEnvoyBootstrap(yamlText: string): string | null {
  type O = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let doc: O;
  try {
    doc = parse(yamlText) as O;
  } catch {
    return null;
  }
  const xds = ((doc?.static_resources?.clusters ?? []) as O[]).find((c) => c?.name === 'xds_cluster');
  const sds = xds?.transport_socket?.typed_config?.common_tls_context?.tls_certificate_sds_secret_configs?.[0];
  const dir: unknown = sds?.sds_config?.path_config_source?.watched_directory?.path;
  return typeof dir === 'string' && certDirProblem(dir) === null ? dir : null;
}
