/**
 * `npm run bench -- encode`: the hand-written field writer encodedResource
 * used until #12 (kept here as `encodedByHand`) against protobufjs' Writer
 * (what src/xds/resource.ts uses now), in the same run, interleaved, for
 * small and large resources. Measured on 2025-11-25: 0.70x-1.36x, noise-level
 * next to the content hash paid once per version either way, so the
 * hand-written path was deleted.
 */
import { encodedResource, contentHash } from '../../src/xds/encoded-resource';

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}
function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}
const writeDelimited = (buf: Buffer, at: number, field: number, len: number): number => writeVarint(buf, ((buf[at] = (field << 3) | 2), at + 1), len);
const delimitedLength = (len: number): number => 1 + varintLength(len) + len;

/** The hand-written writer of before #12: both fields into one buffer. */
export function encodedByHand(kind: ResourceKind, name: string, bytes: Buffer, version: string): { sotwField: Buffer; deltaField: Buffer } {
  const url = TYPE_URL[kind];
  const urlLen = Buffer.byteLength(url);
  const versionLen = Buffer.byteLength(version);
  const nameLen = Buffer.byteLength(name);
  const anyLen = delimitedLength(urlLen) + delimitedLength(bytes.length);
  const sotwLen = delimitedLength(anyLen);
  const resLen = delimitedLength(versionLen) + delimitedLength(anyLen) + delimitedLength(nameLen);
  const buf = Buffer.allocUnsafe(sotwLen + delimitedLength(resLen));
  const writeAny = (at: number): number => {
    at = writeDelimited(buf, at, 1, urlLen);
    at += buf.write(url, at, 'utf8');
    at = writeDelimited(buf, at, 2, bytes.length);
    return at + bytes.copy(buf, at);
  };
  let at = writeAny(writeDelimited(buf, 0, 2, anyLen));
  at = writeDelimited(buf, at, 2, resLen);
  at = writeDelimited(buf, at, 1, versionLen);
  at += buf.write(version, at, 'utf8');
  at = writeAny(writeDelimited(buf, at, 2, anyLen));
  at = writeDelimited(buf, at, 3, nameLen);
  buf.write(name, at, 'utf8');
  return { sotwField: buf.subarray(0, sotwLen), deltaField: buf.subarray(sotwLen) };
}
import { TYPE_URL, type ResourceKind } from '../../src/xds/protos';

function time(label: string, n: number, fn: (i: number) => unknown): number {
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += (fn(i) as { length?: number }).length ?? 1;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  if (sink < 0) console.log(label);
  return ns;
}

export function runEncodeBench(): void {
  const cases = [
    { label: 'ClusterLoadAssignment ~300 B', size: 300, n: 200_000 },
    { label: 'ClusterLoadAssignment ~4 KiB', size: 4096, n: 100_000 },
    { label: 'Listener ~40 KiB', size: 40_960, n: 20_000 },
  ];
  console.log('encodedResource: hand-written field writer vs protobufjs Writer (ns per resource, version given; best of 5 interleaved rounds)');
  const rows: string[] = [];
  for (const c of cases) {
    const bytes = Buffer.alloc(c.size, 7);
    const version = contentHash(bytes);
    let hand = Infinity;
    let writer = Infinity;
    for (let round = 0; round < 5; round++) {
      hand = Math.min(
        hand,
        time('hand', c.n, (i) => encodedByHand('endpoint', `service-${i % 200}`, bytes, version).sotwField),
      );
      writer = Math.min(
        writer,
        time('writer', c.n, (i) => encodedResource('endpoint', `service-${i % 200}`, bytes, version).sotwField),
      );
    }
    const hashNs = time('hash', Math.min(c.n, 50_000), () => contentHash(bytes));
    rows.push(`| ${c.label} | ${hand.toFixed(0)} | ${writer.toFixed(0)} | ${(writer / hand).toFixed(2)}x | ${hashNs.toFixed(0)} |`);
  }
  console.log('| resource | hand-written ns | protobufjs Writer ns | Writer / hand | content hash ns (paid once per version either way) |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  // The two writers must agree byte for byte, or the comparison means nothing.
  const probe = Buffer.alloc(1000, 3);
  const a = encodedByHand('cluster', 'x', probe, 'v1');
  const b = encodedResource('cluster', 'x', probe, 'v1');
  if (!a.sotwField.equals(b.sotwField) || !a.deltaField.equals(b.deltaField)) throw new Error('the two writers disagree');
}

if (require.main === module) runEncodeBench();
