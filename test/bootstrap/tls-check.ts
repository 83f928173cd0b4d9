/**
 * Strict checks of what secure mode adds to bootstraps (not a test file):
 * Envoy's TLS transport socket messages (tls.proto) loaded into the shared
 * Envoy root, the filesystem SDS files decoded as Envoy reads them (a
 * DiscoveryResponse of Secrets), and the cross references Envoy resolves at
 * startup (secret names, files inside the certificate folder, one transport
 * socket match per endpoint).
 */
import * as path from 'node:path';
import { parse } from 'yaml';
import { envoyRoot } from '../../src/xds/protos';
import { SDS_FILES, SDS_SECRET_NAMES } from '../../src/bootstrap';
import { StrictJson, pgvViolations, checkBootstrapYaml } from '../helpers/envoy-validate';

type O = Record<string, any>;

const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

/**
 * src/xds/protos.ts loads only the protos the server builds with; the
 * bootstrap's transport socket is an Any of UpstreamTlsContext (tls.proto),
 * which the strict check must resolve. Loaded once into the same root.
 */
export function loadTlsProtos(): void {
  const root = envoyRoot();
  try {
    root.lookupType(UPSTREAM_TLS);
    return;
  } catch {
    /* not loaded yet */
  }
  root.loadSync('envoy/extensions/transport_sockets/tls/v3/tls.proto', { keepCase: true });
  root.resolveAll();
}

/** Every problem of one filesystem SDS file (YAML): strict proto3 JSON of a DiscoveryResponse, then PGV rules. */
export function checkSdsFile(yamlText: string): string[] {
  loadTlsProtos();
  let obj: unknown;
  try {
    obj = parse(yamlText, { uniqueKeys: true, strict: true });
  } catch (e) {
    return [`YAML: ${(e as Error).message}`];
  }
  const type = envoyRoot().lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  const conv = new StrictJson();
  const msg = conv.message(type, obj, 'DiscoveryResponse');
  if (conv.errors.length > 0 || !msg) return conv.errors.length ? conv.errors : ['not an object'];
  const decoded = type.decode(type.encode(type.fromObject(msg)).finish());
  const problems = pgvViolations(type, decoded as unknown as O, 'DiscoveryResponse');
  const resources = (obj as O).resources as O[];
  resources.forEach((r, i) => {
    if (r['@type'] !== SECRET) problems.push(`resources[${i}]: not a Secret (${r['@type']})`);
    if (!r.name) problems.push(`resources[${i}].name: required (the bootstrap refers to it)`);
  });
  return problems;
}

/** Both SDS files of a certificate folder: strictly valid, each one secret of the expected name, every file inside the folder. */
export function checkSdsFiles(files: Record<string, string>, certDir: string): string[] {
  const problems: string[] = [];
  const expected: Record<string, string> = { [SDS_FILES.cert]: SDS_SECRET_NAMES.cert, [SDS_FILES.ca]: SDS_SECRET_NAMES.ca };
  if (Object.keys(files).sort().join() !== Object.keys(expected).sort().join()) problems.push(`files: ${Object.keys(files).join(', ')}`);
  for (const [name, text] of Object.entries(files)) {
    for (const p of checkSdsFile(text)) problems.push(`${name}: ${p}`);
    const secrets = (parse(text) as O).resources as O[];
    if (secrets.length !== 1 || secrets[0]!.name !== expected[name]) problems.push(`${name}: expected one secret named ${expected[name]}`);
    const s = secrets[0] ?? {};
    const filenames = s.tls_certificate ? [s.tls_certificate.certificate_chain?.filename, s.tls_certificate.private_key?.filename] : [s.validation_context?.trusted_ca?.filename];
    for (const f of filenames) if (typeof f !== 'string' || path.posix.dirname(f) !== certDir) problems.push(`${name}: ${f} is not in ${certDir}`);
    const watched = (s.tls_certificate ?? s.validation_context)?.watched_directory?.path;
    if (watched !== certDir) problems.push(`${name}: watched_directory ${watched} is not ${certDir}`);
  }
  return problems;
}

export interface TlsContextView {
  sni: string | undefined;
  sans: string[];
  alpn: string[];
  sdsPaths: string[];
  secretNames: string[];
}

function contextView(socket: O, where: string, problems: string[]): TlsContextView {
  if (socket?.name !== 'envoy.transport_sockets.tls') problems.push(`${where}.name: ${socket?.name}`);
  const ctx = socket?.typed_config ?? {};
  if (ctx['@type'] !== `type.googleapis.com/${UPSTREAM_TLS}`) problems.push(`${where}.typed_config: ${ctx['@type']}`);
  const common = ctx.common_tls_context ?? {};
  const certs = (common.tls_certificate_sds_secret_configs ?? []) as O[];
  const cvc = common.combined_validation_context ?? {};
  const sds = [...certs, cvc.validation_context_sds_secret_config].filter(Boolean) as O[];
  if (certs.length !== 1) problems.push(`${where}: expected one client certificate (SDS), got ${certs.length}`);
  if (!cvc.validation_context_sds_secret_config) problems.push(`${where}: no CA (validation_context_sds_secret_config)`);
  return {
    sni: ctx.sni,
    sans: ((cvc.default_validation_context?.match_typed_subject_alt_names ?? []) as O[]).map((m) => `${m.san_type}:${m.matcher?.exact}`),
    alpn: common.alpn_protocols ?? [],
    sdsPaths: sds.map((s) => s.sds_config?.path_config_source?.path),
    secretNames: sds.map((s) => s.name),
  };
}

export interface XdsClusterTlsView {
  /** The cluster's own transport socket. */
  socket: TlsContextView;
  /** Per endpoint (in priority order): the socket Envoy picks for it. */
  perEndpoint: Array<{ address: string; socket: TlsContextView }>;
}

/**
 * A secure Envoy bootstrap: strictly valid (Envoy's protos, PGV, startup
 * rules), and its xds_cluster's TLS as Envoy would resolve it per endpoint.
 * Throws listing every problem.
 */
export function checkSecureEnvoyBootstrap(yamlText: string, certDir: string): XdsClusterTlsView {
  loadTlsProtos();
  const problems = checkBootstrapYaml(yamlText);
  const doc = parse(yamlText) as O;
  const xds = ((doc.static_resources?.clusters ?? []) as O[]).find((c) => c.name === 'xds_cluster') ?? {};
  const socket = contextView(xds.transport_socket, 'xds_cluster.transport_socket', problems);
  const matches = ((xds.transport_socket_matches ?? []) as O[]).map((m, i) => ({
    match: m.match as O,
    socket: contextView(m.transport_socket, `xds_cluster.transport_socket_matches[${i}]`, problems),
  }));
  const perEndpoint: XdsClusterTlsView['perEndpoint'] = [];
  for (const le of (xds.load_assignment?.endpoints ?? []) as O[]) {
    for (const lb of le.lb_endpoints as O[]) {
      const sa = lb.endpoint.address.socket_address;
      const md = lb.metadata?.filter_metadata?.['envoy.transport_socket_match'] as O | undefined;
      // Envoy: the first match whose every key/value is in the endpoint's metadata; else the cluster's socket.
      const m = md ? matches.find((x) => Object.entries(x.match ?? {}).every(([k, v]) => md[k] === v)) : undefined;
      if (md && !m) problems.push(`endpoint ${sa.address}: metadata ${JSON.stringify(md)} matches no transport socket`);
      perEndpoint.push({ address: `${sa.address}:${sa.port_value}`, socket: m ? m.socket : socket });
    }
  }
  for (const v of [socket, ...matches.map((m) => m.socket)]) {
    if (v.alpn.join() !== 'h2') problems.push(`alpn_protocols: ${v.alpn.join()} (Node's HTTP/2 server needs h2)`);
    const want = [path.posix.join(certDir, SDS_FILES.cert), path.posix.join(certDir, SDS_FILES.ca)];
    if (v.sdsPaths.join() !== want.join()) problems.push(`SDS paths ${v.sdsPaths.join()} are not ${want.join()}`);
    if (v.secretNames.join() !== [SDS_SECRET_NAMES.cert, SDS_SECRET_NAMES.ca].join()) problems.push(`SDS secret names ${v.secretNames.join()}`);
    if (v.sans.length === 0) problems.push('no SAN match: any certificate of the CA would pass for the server');
  }
  if (problems.length > 0) throw new Error(`secure Envoy bootstrap:\n  ${problems.join('\n  ')}`);
  return { socket, perEndpoint };
}
