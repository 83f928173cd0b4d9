/**
 * `edge-xds explain SERVICE --node ID | --region R [--zone Z] [--lat --lon]`:
 * prints the endpoint table a proxy there receives (priority, weight, share
 * and every factor), fetched from a running server's
 * GET /v1/services/{name}/endpoints.
 */
import { Command, Option } from 'commander';
import { CliError, httpsRequest } from './https-client';
import { DEFAULT_CACERT, DEFAULT_SERVER, DEFAULT_TOKEN_FILE, restEndpoint } from './token';
import { formatExplainTable, type ExplainRow } from '../model';

export interface ExplainOptions {
  service: string;
  server: string;
  node?: string;
  region?: string;
  zone?: string;
  lat?: string;
  lon?: string;
  kind: 'grpc' | 'envoy';
  json: boolean;
  timeoutMs: number;
  /** https:// servers (secure mode): the CA bundle and the read or admin token. */
  tls?: { caPem: string; caLabel: string; token: string };
}

interface TableBody {
  service: string;
  requester: { region: string; zone: string; location: { lat: number; lon: number } | null };
  endpoints: ExplainRow[];
}

/** A failure with the message to print and the exit code (1: server or request, 2: usage). */
export class ExplainError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The request URL for these options; throws ExplainError (exit 2) on bad usage. */
export function explainUrl(o: ExplainOptions): URL {
  if (o.node === undefined && o.region === undefined) throw new ExplainError('give --node ID, or --region R (with --zone, --lat, --lon)', 2);
  if (o.node !== undefined && (o.region ?? o.zone ?? o.lat ?? o.lon) !== undefined) {
    throw new ExplainError('--node cannot be combined with --region/--zone/--lat/--lon', 2);
  }
  if ((o.lat === undefined) !== (o.lon === undefined)) throw new ExplainError('--lat and --lon go together', 2);
  let base: URL;
  try {
    base = new URL(o.server);
  } catch {
    throw new ExplainError(`--server: not a URL: ${o.server}`, 2);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ExplainError(`--server: must be http(s)://, got ${o.server}`, 2);
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/services/${encodeURIComponent(o.service)}/endpoints`, base);
  const params: Array<[string, string | undefined]> = [
    ['node', o.node],
    ['region', o.region],
    ['zone', o.zone],
    ['lat', o.lat],
    ['lon', o.lon],
    ['kind', o.kind],
  ];
  for (const [k, v] of params) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/** Fetches the table; throws ExplainError with a message naming the cause. */
export async function fetchExplain(o: ExplainOptions): Promise<TableBody> {
  const url = explainUrl(o);
  const { status, text } = url.protocol === 'https:' ? await getHttps(o, url) : await getHttp(o, url);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ExplainError(`unexpected answer from ${url.origin} (HTTP ${status}, not JSON): ${text.slice(0, 200)}`, 1);
  }
  if (status !== 200) {
    const err = (body as { error?: { message?: string; field?: string } }).error;
    const msg = err?.message ?? text.slice(0, 200);
    if (status === 404 && err?.field === 'name') throw new ExplainError(`unknown service "${o.service}": ${msg}`, 1);
    if (status === 404 && err?.field === 'node') throw new ExplainError(`unknown node "${o.node}": ${msg}`, 1);
    throw new ExplainError(`server answered HTTP ${status}${err?.field ? ` (${err.field})` : ''}: ${msg}`, 1);
  }
  const table = body as TableBody;
  if (!Array.isArray(table.endpoints)) throw new ExplainError(`unexpected answer from ${url.origin}: no endpoints array`, 1);
  return table;
}

async function getHttp(o: ExplainOptions, url: URL): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new ExplainError(`cannot reach the edge-xds server at ${url.origin} (${why}); is it running? (--server)`, 1);
  }
}

/** Secure mode: the CA bundle and a read (or admin) token. */
async function getHttps(o: ExplainOptions, url: URL): Promise<{ status: number; text: string }> {
  if (!o.tls) throw new ExplainError('an https:// server needs --cacert and a read or admin token (--token-file, --token, EDGE_XDS_TOKEN)', 2);
  try {
    const r = await httpsRequest(
      { server: new URL(url.origin), caPem: o.tls.caPem, caLabel: o.tls.caLabel, token: o.tls.token, timeoutMs: o.timeoutMs },
      'GET',
      `${url.pathname}${url.search}`,
    );
    return { status: r.status, text: r.text };
  } catch (err) {
    if (err instanceof CliError) throw new ExplainError(err.message, err.exitCode);
    throw err;
  }
}

/** The text output: a heading naming the requester, then the table. */
export function formatExplain(o: ExplainOptions, t: TableBody): string {
  const r = t.requester;
  const where = o.node !== undefined ? `node ${o.node} at ${r.region}/${r.zone}` : `${r.region}/${r.zone}`;
  const loc = r.location ? `(${r.location.lat}, ${r.location.lon})` : '(no location)';
  return `service ${t.service} as seen by a ${o.kind} proxy at ${where} ${loc}\n${formatExplainTable(t.endpoints)}`;
}

export async function runExplain(o: ExplainOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const table = await fetchExplain(o);
  out.write(o.json ? `${JSON.stringify(table, null, 2)}\n` : formatExplain(o, table));
}

/** Adds the `explain` subcommand to the program. */
export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('print the endpoint table (priorities, weights, shares, factors) a proxy receives for SERVICE')
    .argument('<service>', 'service name')
    .option('--node <id>', 'a registered node: the table a proxy on that node receives')
    .option('--server <url>', 'REST base URL of a running edge-xds server', process.env.EDGE_XDS_SERVER ?? DEFAULT_SERVER)
    .option('--cacert <file>', `https: CA bundle that signed the server's certificate [env EDGE_XDS_CACERT] (default: ${DEFAULT_CACERT})`)
    .option('--token-file <file>', `https: file with a read or admin token (default: ${DEFAULT_TOKEN_FILE})`)
    .option('--token <token>', 'https: the token itself [env EDGE_XDS_TOKEN]')
    .option('--region <region>', 'requester region (instead of --node)')
    .option('--zone <zone>', 'requester zone')
    .option('--lat <degrees>', 'requester latitude')
    .option('--lon <degrees>', 'requester longitude')
    .addOption(new Option('--kind <kind>', 'client kind').choices(['grpc', 'envoy']).default('grpc'))
    .option('--json', 'print the JSON answer instead of the table', false)
    .option('--timeout <ms>', 'request timeout in ms', '5000')
    .action(async (service: string, f: Record<string, string | boolean | undefined>) => {
      const str = (k: string): string | undefined => (typeof f[k] === 'string' ? (f[k] as string) : undefined);
      const timeoutMs = Number(str('timeout'));
      try {
        if (!(timeoutMs > 0)) throw new ExplainError(`--timeout: must be a number of ms > 0, got ${str('timeout')}`, 2);
        let tls: ExplainOptions['tls'];
        if ((str('server') ?? '').startsWith('https:')) {
          try {
            const ep = restEndpoint({ ...f, timeout: String(timeoutMs) });
            tls = { caPem: ep.caPem!, caLabel: ep.caLabel, token: ep.token! };
          } catch (err) {
            if (err instanceof CliError) throw new ExplainError(err.message, err.exitCode);
            throw err;
          }
        }
        await runExplain({
          tls,
          service,
          server: str('server') as string,
          node: str('node'),
          region: str('region'),
          zone: str('zone'),
          lat: str('lat'),
          lon: str('lon'),
          kind: str('kind') as 'grpc' | 'envoy',
          json: f.json === true,
          timeoutMs,
        });
      } catch (err) {
        if (!(err instanceof ExplainError)) throw err;
        process.stderr.write(`edge-xds explain: ${err.message}\n`);
        process.exitCode = err.exitCode;
      }
    });
}
