/**
 * Quantization of real weights to Envoy's integer weights.
 */

/** Envoy's limit for the sum of weights in one priority (uint32). */
export const UINT32_MAX = 4294967295;

/**
 * Turns non-negative real weights into integers >= 1 whose relative shares
 * are within 1 percentage point of the exact ones.
 *
 * Largest-remainder method over an effective scale S = max(scale, 200*(n+1)):
 * every weight gets floor(raw_i / sum * S), the leftover units go to the
 * largest remainders (ties at the cut all get one, so equal inputs always get
 * equal outputs and the result is monotone in raw), then zeros are raised to
 * the floor of 1. Each integer is within 1 of its exact target and the total
 * is S + k with 0 <= k <= n, so each share is off by at most (n+1)/S <= 0.5
 * point. A zero (or non-finite) sum means "no preference": equal weights.
 * Negative or non-finite entries count as 0.
 */
export function quantizeWeights(raw: readonly number[], scale: number): number[] {
  const n = raw.length;
  if (n === 0) return [];
  const clean = raw.map((r) => (Number.isFinite(r) && r > 0 ? r : 0));
  const sum = clean.reduce((a, b) => a + b, 0);
  const s = Math.max(Math.floor(scale), 200 * (n + 1));
  if (s + n > UINT32_MAX) throw new RangeError(`too many endpoints to quantize (${n})`);
  if (!(sum > 0) || !Number.isFinite(sum)) {
    const each = Math.floor(s / n);
    return clean.map(() => Math.max(1, each));
  }
  const exact = clean.map((r) => (r / sum) * s);
  const out = exact.map((t) => Math.floor(t));
  const leftover = s - out.reduce((a, b) => a + b, 0);
  if (leftover > 0) {
    const rem = exact.map((t, i) => t - out[i]);
    const order = rem.map((_, i) => i).sort((a, b) => rem[b] - rem[a] || a - b);
    // The cut remainder: every index with a remainder >= it gets one more.
    const cut = rem[order[Math.min(leftover, n) - 1]];
    for (let i = 0; i < n; i++) if (rem[i] >= cut && rem[i] > 0) out[i] += 1;
  }
  return out.map((q) => Math.max(1, q));
}

/** Shares in percent of each weight in its list (0 for an empty/zero list). */
export function sharesPct(weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (sum > 0 ? (w / sum) * 100 : 0));
}
