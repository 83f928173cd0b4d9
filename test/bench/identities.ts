/**
 * Node certificates for secure-mode benches, minted directly from a server's
 * CA files (`<db folder>/pki/ca.pem`, `ca-key.pem`) with the library the
 * server's enrollment uses (makeKeyAndCsr + issueFromCsr): the same
 * certificates `POST /v1/enroll` would issue (URI SAN
 * spiffe://<trust-domain>/node/<id>, clientAuth, 24 h), without a REST
 * round trip per proxy. Issuing costs ~10-20 ms of CPU per certificate (the
 * X.509 library's ASN.1 in JS), so keys come from a small pool: each proxy
 * has its own certificate, several share a P-256 key. The server's work per
 * handshake does not depend on that (it verifies each chain and each
 * CertificateVerify; nothing is cached by key).
 */
import { issueFromCsr, loadCaFiles, makeKeyAndCsr } from '../../src/security';

export interface NodeIdentity {
  keyPem: string;
  /** Leaf + intermediates (PEM). */
  certPem: string;
}

export async function mintNodeIdentities(
  ca: { certFile: string; keyFile: string; trustDomain?: string },
  ids: string[],
  opts: { keys?: number; progress?: (done: number, total: number) => void; timeoutMs?: number } = {},
): Promise<Map<string, NodeIdentity>> {
  const trustDomain = ca.trustDomain ?? 'edge-xds.local';
  const authority = await loadCaFiles(ca.certFile, ca.keyFile, { trustDomain });
  const pool = await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.keys ?? 16, ids.length)) }, (_, k) => makeKeyAndCsr({ kind: 'node', id: `bench-key-${k}` })));
  const out = new Map<string, NodeIdentity>();
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  let lastReport = Date.now();
  for (let i = 0; i < ids.length; i++) {
    if (Date.now() > deadline) throw new Error(`minting node certificates: only ${i}/${ids.length} within ${opts.timeoutMs ?? 180_000} ms`);
    const k = pool[i % pool.length]!;
    const issued = await issueFromCsr(authority, k.csrPem, { kind: 'node', id: ids[i]! });
    out.set(ids[i]!, { keyPem: k.keyPem, certPem: issued.chainPem });
    if (opts.progress && Date.now() - lastReport > 2000) {
      opts.progress(i + 1, ids.length);
      lastReport = Date.now();
    }
  }
  opts.progress?.(ids.length, ids.length);
  return out;
}
