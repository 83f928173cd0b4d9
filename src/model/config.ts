/**
 * The weights configuration: every coefficient of the model, its defaults and
 * validation (zod). See docs/WEIGHTS.md for the meaning of each field.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export type LoadCombine = 'max' | 'weighted';
export type Strategy = 'edge-aware' | 'round-robin';

export interface WeightsConfig {
  /** 'edge-aware' (default): priorities and weights below; 'round-robin': one priority, equal weights (for comparison). */
  strategy: Strategy;
  /** Distance decay lambda per km in exp(-lambda * d). */
  lambdaPerKm: number;
  /** eps in C / (L + eps); also bounds the idle/loaded ratio to (1 + eps) / eps. */
  epsilon: number;
  /** How L_i combines cpu/memory/network utilisation. */
  load: { combine: LoadCombine; cpuWeight: number; memoryWeight: number; networkWeight: number };
  /** q = clamp(exp(-(a*lat/latRef + b*jit/jitRef + c*loss/lossRef)), minFactor, 1). */
  network: {
    latencyRefMs: number;
    jitterRefMs: number;
    lossRef: number;
    latencyWeight: number;
    jitterWeight: number;
    lossWeight: number;
    minFactor: number;
  };
  overload: {
    /** Latest raw load >= threshold -> overloaded. */
    threshold: number;
    /** Overloaded raw weight = weightFactor * formula weight (0 -> the minimum integer weight, 1). */
    weightFactor: number;
    /** A latest heartbeat older than this (ms, when `now` is given) is not used; 0 = no limit. */
    maxHeartbeatAgeMs: number;
  };
  /** Relative share change (percent) below which weights are not re-pushed. */
  hysteresisPct: number;
  /** Absolute share change (percentage points) below which weights are not re-pushed; 0 disables. */
  hysteresisAbsPct: number;
  /** Quantization scale: the HEALTHY weights of one priority sum to about this. */
  weightScale: number;
  /** Envoy overprovisioning_factor (percent) to set in the ClusterLoadAssignment policy. */
  overprovisioningFactor: number;
  /** 'send': non-HEALTHY endpoints are sent with their status and weight 1; 'omit': left out. */
  nonHealthyEndpoints: 'send' | 'omit';
  /** requester region -> other regions in failover order. */
  regionFailover: Record<string, string[]>;
  /** Extra level: P0 = requester's sub-zone, then the rest of its zone. */
  preferSubZone: boolean;
  /** Put all regions not listed in regionFailover into one last priority (else one each). */
  groupUnlistedRegions: boolean;
}

export const DEFAULT_WEIGHTS_CONFIG: Readonly<WeightsConfig> = Object.freeze({
  strategy: 'edge-aware',
  lambdaPerKm: 0.01,
  epsilon: 0.25,
  load: Object.freeze({ combine: 'max', cpuWeight: 1, memoryWeight: 1, networkWeight: 1 }),
  network: Object.freeze({
    latencyRefMs: 100,
    jitterRefMs: 30,
    lossRef: 0.05,
    latencyWeight: 1,
    jitterWeight: 1,
    lossWeight: 1,
    minFactor: 0.05,
  }),
  overload: Object.freeze({ threshold: 0.9, weightFactor: 0, maxHeartbeatAgeMs: 60_000 }),
  hysteresisPct: 10,
  hysteresisAbsPct: 1,
  weightScale: 10_000,
  overprovisioningFactor: 140,
  nonHealthyEndpoints: 'send',
  regionFailover: Object.freeze({}) as Record<string, string[]>,
  preferSubZone: false,
  groupUnlistedRegions: false,
}) as Readonly<WeightsConfig>;

const coef = (max: number) => z.number().min(0).max(max);

const schema = z
  .strictObject({
    strategy: z.enum(['edge-aware', 'round-robin']),
    lambdaPerKm: z.number().min(0).max(1),
    epsilon: z.number().min(0.001).max(10),
    load: z
      .strictObject({
        combine: z.enum(['max', 'weighted']),
        cpuWeight: coef(100),
        memoryWeight: coef(100),
        networkWeight: coef(100),
      })
      .refine((l) => l.cpuWeight + l.memoryWeight + l.networkWeight > 0, {
        message: 'at least one of cpuWeight, memoryWeight, networkWeight must be > 0',
      }),
    network: z.strictObject({
      latencyRefMs: z.number().gt(0).max(100_000),
      jitterRefMs: z.number().gt(0).max(100_000),
      lossRef: z.number().gt(0).max(1),
      latencyWeight: coef(100),
      jitterWeight: coef(100),
      lossWeight: coef(100),
      minFactor: z.number().gt(0).max(1),
    }),
    overload: z.strictObject({
      threshold: z.number().gt(0).max(1),
      weightFactor: z.number().min(0).max(1),
      maxHeartbeatAgeMs: z.number().int().min(0).max(86_400_000),
    }),
    hysteresisPct: z.number().min(0).max(100),
    hysteresisAbsPct: z.number().min(0).max(100),
    weightScale: z.number().int().min(100).max(1_000_000),
    overprovisioningFactor: z.number().int().min(1).max(100_000),
    nonHealthyEndpoints: z.enum(['send', 'omit']),
    regionFailover: z.record(z.string().min(1), z.array(z.string().min(1)).max(1000)),
    preferSubZone: z.boolean(),
    groupUnlistedRegions: z.boolean(),
  })
  .superRefine((c, ctx) => {
    for (const [region, order] of Object.entries(c.regionFailover)) {
      const seen = new Set<string>();
      order.forEach((r, i) => {
        if (r === region) {
          ctx.addIssue({ code: 'custom', path: ['regionFailover', region, i], message: `lists its own region '${r}'` });
        } else if (seen.has(r)) {
          ctx.addIssue({ code: 'custom', path: ['regionFailover', region, i], message: `region '${r}' listed twice` });
        }
        seen.add(r);
      });
    }
  });

export type WeightsConfigResult = { ok: true; config: WeightsConfig } | { ok: false; error: { field: string; message: string } };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own data property: `out[k] = v` with k = "__proto__" would replace the prototype instead. */
function put(out: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/** Deep copy of `base` with `over` merged in; plain objects merge, everything else (and regionFailover) replaces. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base)) put(out, k, isPlainObject(v) ? merge(v, {}, depth + 1) : Array.isArray(v) ? [...v] : v);
  for (const [k, v] of Object.entries(over)) {
    const b = Object.hasOwn(out, k) ? out[k] : undefined;
    put(out, k, depth === 0 && k !== 'regionFailover' && isPlainObject(b) && isPlainObject(v) ? merge(b, v, depth + 1) : v);
  }
  return out;
}

/**
 * Validates a (partial) weights config and merges it over `base` (the
 * defaults unless given, e.g. the current config for PUT /v1/config/weights).
 * Nested sections (load, network, overload) merge field by field;
 * regionFailover replaces as a whole. Unknown fields are errors. The error
 * names the field with a dotted path, e.g. 'network.latencyRefMs'.
 */
export function parseWeightsConfig(input: unknown, base: Readonly<WeightsConfig> = DEFAULT_WEIGHTS_CONFIG): WeightsConfigResult {
  if (input === undefined || input === null) input = {};
  if (!isPlainObject(input)) return { ok: false, error: { field: '', message: 'weights config must be an object' } };
  const merged = merge(base as unknown as Record<string, unknown>, input, 0);
  const r = schema.safeParse(merged);
  if (r.success) return { ok: true, config: r.data };
  const issue = r.error.issues[0];
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) {
    return { ok: false, error: { field: [...path, issue.keys[0]].join('.'), message: `unknown field '${issue.keys[0]}'` } };
  }
  return { ok: false, error: { field: path.join('.'), message: issue.message } };
}

/** Reads a weights config file: JSON for `.json`, YAML otherwise (partial, merged over the defaults). */
export function loadWeightsConfigFile(path: string): WeightsConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, error: { field: '', message: `cannot read ${path}: ${(err as Error).message}` } };
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    return { ok: false, error: { field: '', message: `cannot parse ${path}: ${(err as Error).message}` } };
  }
  return parseWeightsConfig(data);
}
