/** A small HTTP client for tests: no agent reuse, raw bodies allowed, JSON decoded. */
import http from 'node:http';

export interface HttpResponse<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: T;
}

export interface RequestOptions {
  method?: string;
  /** JSON-encoded as the body (sets Content-Type: application/json). */
  body?: unknown;
  /** Sent as is (use with `headers` to test content types and malformed JSON). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** Adds `Authorization: Bearer <token>`. */
  token?: string;
  timeoutMs?: number;
}

/** `base` is like `http://127.0.0.1:1234`. */
export function request<T = unknown>(base: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse<T>> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...opts.headers };
  let payload: Buffer | undefined;
  if (opts.rawBody !== undefined) payload = Buffer.from(opts.rawBody);
  else if (opts.body !== undefined) {
    payload = Buffer.from(JSON.stringify(opts.body));
    headers['content-type'] ??= 'application/json';
  }
  const method = opts.method ?? (payload ? 'POST' : 'GET');
  if (payload) headers['content-length'] = String(payload.length);
  else if (method !== 'GET' && method !== 'HEAD') headers['content-length'] ??= '0';
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        if ((res.headers['content-type'] ?? '').includes('json') && text.length > 0) {
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as T });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request ${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Binds `request` to one server. */
export function client(base: string): <T = unknown>(path: string, opts?: RequestOptions) => Promise<HttpResponse<T>> {
  return (path, opts) => request(base, path, opts);
}
