/** Command-line argument helpers shared by the `sextant` sub-commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors.js';

/** Parses `args` with node:util's parser, turning its errors into a BAD_USER_INPUT that names the command. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UserError('BAD_USER_INPUT', `sextant ${command}: ${(err as Error).message}`);
  }
}

/** A positive integer option, or the fallback; `1_000_000`, `1e6` and `1M` style values are accepted. */
export function positiveInt(command: string, name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(raw.replace(/_/g, ''));
  const n = m ? Number(m[1]) * (m[2] === 'k' || m[2] === 'K' ? 1e3 : m[2] === 'm' || m[2] === 'M' ? 1e6 : 1) : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UserError('BAD_USER_INPUT', `sextant ${command}: --${name} expects a positive integer, got "${raw}"`);
  return n;
}
