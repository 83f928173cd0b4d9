/** Request schemas (zod) of the canonical REST API. */
import { isIP } from 'node:net';
import { z } from 'zod';

export const MAX_SERVICES = 64;
export const MAX_LABELS = 64;
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$/;

const dnsMessage = 'must be a DNS label: 1-63 lowercase letters, digits or "-", not starting or ending with "-"';

export const dnsLabel = z.string().regex(DNS_LABEL, { message: dnsMessage });

/** An IP literal (v4 or v6, no zone id), not the unspecified address. */
export const ipLiteral = z.string().refine((s) => isIP(s) !== 0 && !s.includes('%') && s !== '0.0.0.0' && s !== '::', {
  message: 'must be an IPv4 or IPv6 address literal (hostnames are not allowed)',
});

export const latitude = z.number().min(-90).max(90);
export const longitude = z.number().min(-180).max(180);
export const unit = z.number().min(0).max(1);
export const nonNegative = z.number().min(0);

export const locationSchema = z.strictObject({ lat: latitude, lon: longitude });

export const serviceSchema = z.strictObject({
  name: dnsLabel,
  port: z.number().int().min(1).max(65535),
  protocol: z.enum(['http', 'grpc', 'tcp']).default('http'),
});

export const capacitySchema = z.strictObject({
  cpu: z.number().positive().max(100000).optional(),
  memoryMb: z.number().positive().max(1e9).optional(),
  maxRps: z.number().positive().max(1e9).optional(),
});

export const labelsSchema = z
  .record(z.string().regex(LABEL_KEY, { message: 'must be 1-128 of [A-Za-z0-9._/-], starting and ending alphanumeric' }), z.string().max(256))
  .refine((o) => Object.keys(o).length <= MAX_LABELS, { message: `at most ${MAX_LABELS} labels`, params: { code: 'too_many_items' } });

export const registrationSchema = z
  .strictObject({
    id: dnsLabel,
    role: z.enum(['edge', 'relay', 'gateway']).default('edge'),
    region: dnsLabel,
    zone: dnsLabel,
    subZone: z.union([z.literal(''), dnsLabel]).default(''),
    location: locationSchema,
    address: ipLiteral,
    services: z.array(serviceSchema).max(MAX_SERVICES).default([]),
    capacity: capacitySchema.default({}),
    labels: labelsSchema.default({}),
  })
  .superRefine((reg, ctx) => {
    const seen = new Set<string>();
    reg.services.forEach((s, i) => {
      if (seen.has(s.name)) {
        ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `duplicate service name "${s.name}"`, params: { code: 'duplicate' } });
      }
      seen.add(s.name);
    });
  });

export const heartbeatSchema = z.strictObject({
  load: z.strictObject({ cpu: unit.optional(), memory: unit.optional(), network: unit.optional() }).optional(),
  network: z
    .strictObject({
      latencyMs: nonNegative.max(3_600_000).optional(),
      jitterMs: nonNegative.max(3_600_000).optional(),
      packetLoss: unit.optional(),
    })
    .optional(),
});

export const nodeFilterSchema = z.strictObject({
  region: z.string().max(63).optional(),
  zone: z.string().max(63).optional(),
  state: z.enum(['healthy', 'suspect', 'unhealthy', 'draining']).optional(),
  service: z.string().max(63).optional(),
  role: z.enum(['edge', 'relay', 'gateway']).optional(),
});

/**
 * The number a decimal numeral in a query string stands for; one too large
 * for a double counts as the largest double, so the range check says
 * "out of range" rather than "not a number".
 */
export function decimalValue(text: string): number {
  const n = Number(text);
  if (Number.isFinite(n)) return n;
  return n > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
}

/** A query parameter that is a plain decimal integer (not "0x10", "1e3", "" or " 5", which Number() would take). */
const queryInt = (min: number, max: number) => z.string().regex(/^\d+$/, { message: 'must be a decimal integer' }).transform(decimalValue).pipe(z.number().int().min(min).max(max));

export const eventsQuerySchema = z.strictObject({
  since: queryInt(0, Number.MAX_SAFE_INTEGER).default(0),
  limit: queryInt(1, 1000).default(100),
  node: z.string().max(63).optional(),
});
