/** Flag parsing helpers shared by the demo entry points (commander, throwing with the flag name). */
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../config';

export function durationArg(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function numberArg(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number in ${min}..${max}, got "${text}"`);
    return n;
  };
}

export function intArg(min: number, max: number): (text: string) => number {
  return (text) => {
    if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError(`expected an integer in ${min}..${max}, got "${text}"`);
    return numberArg(min, max)(text);
  };
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
