/**
 * fast-check arbitraries shared by the property tests.
 *
 * `binaryString` is `fc.string({ unit: 'binary', ... })` (any code point but
 * a lone surrogate) generating the very same values for the same seed, with
 * the same shrinking, but without fast-check's reverse map of all 1,112,064
 * code points: its built-in unit is a `mapToConstant`, whose un-mapper (which
 * fc.string calls once per process, when it is constructed) first fills a Map
 * with every code point, ~1.5 s of CPU. Here the unit is the same
 * `nat(1112063)` mapped the same way, un-mapped arithmetically.
 */
import fc from 'fast-check';

/** Code points below the surrogates are indexes as they are; the ones above them are shifted down by the 2048 surrogates. */
const SURROGATES_START = 0xd800;
const SURROGATES = 0x800;
const LAST_INDEX = 0x10ffff - SURROGATES;

function codePointAt(index: number): string {
  return String.fromCodePoint(index < SURROGATES_START ? index : index + SURROGATES);
}

function indexOf(value: unknown): number {
  if (typeof value !== 'string') throw new Error('Unsupported value');
  const cp = value.codePointAt(0);
  if (cp === undefined || String.fromCodePoint(cp) !== value || (cp >= SURROGATES_START && cp < SURROGATES_START + SURROGATES)) {
    throw new Error('Unknown value encountered cannot be built using this mapToConstant');
  }
  return cp < SURROGATES_START ? cp : cp - SURROGATES;
}

/** One code point, any but a lone surrogate: fast-check's 'binary' string unit. */
export const binaryUnit: fc.Arbitrary<string> = fc.nat({ max: LAST_INDEX }).map(codePointAt, indexOf);

/** fc.string({ unit: 'binary', ...constraints }), cheaper to construct (see above). */
export function binaryString(constraints: Omit<fc.StringConstraints, 'unit'> = {}): fc.Arbitrary<string> {
  return fc.string({ ...constraints, unit: binaryUnit });
}
