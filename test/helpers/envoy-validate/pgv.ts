/**
 * The protoc-gen-validate rules written in Envoy's protos (the ones Envoy
 * enforces on every message it accepts), checked on a decoded protobufjs
 * message, plus Duration range checks everywhere. Any payloads are unpacked
 * and checked as well.
 */
import * as protobuf from 'protobufjs';
import { resolveTypeUrl } from '../../../src/xds/strict-decode';

type Rules = Record<string, unknown>;
type Msg = Record<string, unknown>;

const WRAPPERS = new Set(['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((n) => `.google.protobuf.${n}Value`));

function rulesOf(field: protobuf.Field): Rules | undefined {
  const parsed = field.parsedOptions as Array<Record<string, unknown>> | undefined;
  if (!parsed) return undefined;
  let out: Rules | undefined;
  for (const o of parsed) {
    const r = o['(validate.rules)'];
    if (r && typeof r === 'object') out = { ...(out ?? {}), ...(r as Rules) };
  }
  return out;
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v && typeof v === 'object' && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

/** Seconds (as a float) of a decoded Duration. */
export function durationSeconds(d: Msg): number {
  return num(d.seconds ?? 0) + num(d.nanos ?? 0) / 1e9;
}

export function durationProblem(d: Msg): string | undefined {
  const s = num(d.seconds ?? 0);
  const n = num(d.nanos ?? 0);
  if (!Number.isInteger(s) || s < 0) return `Duration seconds ${s} must be an integer >= 0`;
  if (s > 315_576_000_000) return `Duration seconds ${s} too large`;
  if (!Number.isInteger(n) || n < 0 || n >= 1e9) return `Duration nanos ${n} must be in [0, 1e9)`;
  return undefined;
}

function checkNumeric(v: number, r: Rules, path: string, out: string[]): void {
  const cmpv = (k: string) => (r[k] === undefined ? undefined : num(r[k]));
  const gt = cmpv('gt');
  const gte = cmpv('gte');
  const lt = cmpv('lt');
  const lte = cmpv('lte');
  if (gt !== undefined && !(v > gt)) out.push(`${path}: ${v} must be > ${gt}`);
  if (gte !== undefined && !(v >= gte)) out.push(`${path}: ${v} must be >= ${gte}`);
  if (lt !== undefined && !(v < lt)) out.push(`${path}: ${v} must be < ${lt}`);
  if (lte !== undefined && !(v <= lte)) out.push(`${path}: ${v} must be <= ${lte}`);
  if (r.const !== undefined && v !== num(r.const)) out.push(`${path}: ${v} must equal ${String(r.const)}`);
  if (Array.isArray(r.in) && !r.in.map(num).includes(v)) out.push(`${path}: ${v} not in ${JSON.stringify(r.in)}`);
  if (Array.isArray(r.not_in) && r.not_in.map(num).includes(v)) out.push(`${path}: ${v} is not allowed`);
}

function durationRuleValue(x: unknown): number | undefined {
  if (x === undefined) return undefined;
  return durationSeconds((x ?? {}) as Msg);
}

/** Checks one present (non-repeated-container) value against its rules. */
function checkScalarRules(field: protobuf.Field, v: unknown, rules: Rules, path: string, out: string[]): void {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    const er = rules.enum as Rules | undefined;
    if (er?.defined_only && !Object.values(rt.values).includes(num(v))) out.push(`${path}: undefined enum value ${String(v)}`);
    if (er) checkNumeric(num(v), { in: er.in, not_in: er.not_in, const: er.const }, path, out);
    return;
  }
  if (rt instanceof protobuf.Type) {
    const m = v as Msg;
    if (rt.fullName === '.google.protobuf.Duration' && rules.duration) {
      const dr = rules.duration as Rules;
      const s = durationSeconds(m);
      const b = { gt: durationRuleValue(dr.gt), gte: durationRuleValue(dr.gte), lt: durationRuleValue(dr.lt), lte: durationRuleValue(dr.lte) };
      checkNumeric(s, b, path, out);
    } else if (WRAPPERS.has(rt.fullName)) {
      const inner = rt.fields.value;
      checkScalarRules(inner, m.value ?? inner.defaultValue, rules, path, out);
    }
    return;
  }
  const kind = field.type;
  const r = rules[kind] as Rules | undefined;
  if (!r) return;
  if (kind === 'string') {
    const s = String(v ?? '');
    const chars = [...s].length;
    const bytes = Buffer.byteLength(s);
    if (r.min_len !== undefined && chars < num(r.min_len)) out.push(`${path}: must have at least ${String(r.min_len)} characters`);
    if (r.max_len !== undefined && chars > num(r.max_len)) out.push(`${path}: must have at most ${String(r.max_len)} characters`);
    if (r.min_bytes !== undefined && bytes < num(r.min_bytes)) out.push(`${path}: must have at least ${String(r.min_bytes)} bytes`);
    if (r.max_bytes !== undefined && bytes > num(r.max_bytes)) out.push(`${path}: must have at most ${String(r.max_bytes)} bytes`);
    if (Array.isArray(r.in) && !r.in.includes(s)) out.push(`${path}: ${s} not in ${JSON.stringify(r.in)}`);
    if (Array.isArray(r.not_in) && r.not_in.includes(s)) out.push(`${path}: ${s} is not allowed`);
    if (typeof r.prefix === 'string' && !s.startsWith(r.prefix)) out.push(`${path}: must start with ${r.prefix}`);
    return;
  }
  if (kind === 'bytes' || kind === 'bool') return;
  checkNumeric(num(v), r, path, out);
}

function isSet(field: protobuf.Field, msg: Msg): boolean {
  const v = msg[field.name];
  if (v === undefined || v === null) return false;
  if (field.map) return Object.keys(v as object).length > 0;
  if (field.repeated) return (v as unknown[]).length > 0;
  if (field.resolvedType instanceof protobuf.Type) return true;
  if (field.partOf) return Object.prototype.hasOwnProperty.call(msg, field.name);
  if (field.type === 'bytes') return (v as Uint8Array).length > 0;
  return !(v === '' || v === false || num(v) === 0);
}

/**
 * Every PGV violation and bad Duration inside `msg` (a decoded protobufjs
 * message of `type`), as "path: problem" strings.
 */
export function pgvViolations(type: protobuf.Type, msg: Msg, path = type.name, out: string[] = []): string[] {
  if (type.fullName === '.google.protobuf.Duration') {
    const p = durationProblem(msg);
    if (p) out.push(`${path}: ${p}`);
    return out;
  }
  if (type.fullName === '.google.protobuf.Any') {
    const url = String(msg.type_url ?? '');
    if (!url) return out;
    const inner = resolveTypeUrl(url);
    if (!inner) {
      out.push(`${path}: Any of unknown type ${url}`);
      return out;
    }
    return pgvViolations(inner, inner.decode((msg.value as Uint8Array) ?? new Uint8Array(0)) as unknown as Msg, `${path}<${inner.name}>`, out);
  }
  for (const oneof of type.oneofsArray) {
    const req = oneof.options?.['(validate.required)'];
    if (req && !oneof.fieldsArray.some((f) => isSet(f, msg))) out.push(`${path}: one of ${oneof.name} is required`);
  }
  for (const field of type.fieldsArray) {
    field.resolve();
    const fpath = `${path}.${field.name}`;
    const rules = rulesOf(field) ?? {};
    const present = isSet(field, msg);
    const v = msg[field.name];
    const msgRules = rules.message as Rules | undefined;
    const durRules = rules.duration as Rules | undefined;
    const anyRules = rules.any as Rules | undefined;
    if (!present) {
      if (field.partOf) continue; // an unchosen oneof member (or unset proto3 optional)
      if (msgRules?.required || durRules?.required || anyRules?.required) out.push(`${fpath}: required`);
      const rr = rules.repeated as Rules | undefined;
      if (rr?.min_items !== undefined && num(rr.min_items) > 0) out.push(`${fpath}: needs at least ${String(rr.min_items)} items`);
      const mr = rules.map as Rules | undefined;
      if (mr?.min_pairs !== undefined && num(mr.min_pairs) > 0) out.push(`${fpath}: needs at least ${String(mr.min_pairs)} entries`);
      const sr = rules.string as Rules | undefined;
      if (!field.repeated && sr && (num(sr.min_len ?? 0) > 0 || num(sr.min_bytes ?? 0) > 0)) out.push(`${fpath}: must not be empty`);
      const er = rules.enum as Rules | undefined;
      if (!field.repeated && er) checkScalarRules(field, 0, rules, fpath, out);
      continue;
    }
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.map) {
      for (const [k, mv] of Object.entries(v as Msg)) if (sub) pgvViolations(sub, mv as Msg, `${fpath}[${k}]`, out);
      continue;
    }
    if (field.repeated) {
      const arr = v as unknown[];
      const rr = (rules.repeated as Rules | undefined) ?? {};
      if (rr.min_items !== undefined && arr.length < num(rr.min_items)) out.push(`${fpath}: needs at least ${String(rr.min_items)} items`);
      if (rr.max_items !== undefined && arr.length > num(rr.max_items)) out.push(`${fpath}: at most ${String(rr.max_items)} items`);
      const itemRules = (rr.items as Rules | undefined) ?? {};
      arr.forEach((e, i) => {
        checkScalarRules(field, e, itemRules, `${fpath}[${i}]`, out);
        if (sub) pgvViolations(sub, e as Msg, `${fpath}[${i}]`, out);
      });
      continue;
    }
    checkScalarRules(field, v, rules, fpath, out);
    if (sub) pgvViolations(sub, v as Msg, fpath, out);
  }
  return out;
}
