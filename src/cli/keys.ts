/**
 * `sextant keys create|list|revoke` (docs/http.md, docs/cli.md). The composition root opens the warehouse, builds the
 * KeyStore and hands it in; this module only parses arguments and prints.
 */
import { isUserError } from '../errors.js';
import type { KeyStore } from '../auth/key-store.js';
import { KEY_ROLES } from '../auth/principal.js';

/** What the command needs from the composition root. */
export interface KeysCommandDeps {
  keys: Pick<KeyStore, 'create' | 'list' | 'revoke'>;
  /** Teams of the project, for the usage text. */
  teams: readonly string[];
  out: (line: string) => void;
}

/** Exit codes: 0 done, 1 the request was refused (bad role, unknown team or id), 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

function usage(teams: readonly string[]): string[] {
  return [
    'usage:',
    '  sextant keys create --role reader|ingest --team <team> [--team <team>…] [--name <name>]',
    '  sextant keys create --role admin [--name <name>]',
    '  sextant keys list',
    '  sextant keys revoke <id>',
    `roles: ${KEY_ROLES.join(', ')}; teams: ${teams.join(', ') || '(none)'}`,
  ];
}

class UsageError extends Error {}

/** Parses `--flag value`, `--flag=value` and repeated flags; returns flags and positional arguments. */
function parseFlags(args: readonly string[], known: readonly string[]): { flags: Map<string, string[]>; positional: string[] } {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.includes(name)) throw new UsageError(`unknown option --${name}`);
    let value: string | undefined = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    value = value.trim();
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, positional };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Runs `sextant keys <args…>`; returns the process exit code. */
export async function runKeysCommand(args: string[], deps: KeysCommandDeps): Promise<number> {
  const { out } = deps;
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'create': {
        const { flags, positional } = parseFlags(rest, ['role', 'team', 'teams', 'name']);
        if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
        const role = flags.get('role')?.at(-1);
        if (!role) throw new UsageError('--role is required');
        // `--team a --team b` and `--team a,b` both work.
        const teams = [...(flags.get('team') ?? []), ...(flags.get('teams') ?? [])]
          .flatMap((t) => t.split(','))
          .map((t) => t.trim())
          .filter(Boolean);
        const { id, key } = await deps.keys.create({ role, teams, name: flags.get('name')?.at(-1) });
        out(`created API key ${id} (role ${role}${teams.length ? `, teams ${teams.join(', ')}` : ', every team'})`);
        out('');
        out(`  ${key}`);
        out('');
        out('Copy it now: it cannot be shown again (only its hash is stored). Revoke it with `sextant keys revoke ' + id + '`.');
        return EXIT_OK;
      }
      case 'list': {
        if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
        const keys = await deps.keys.list();
        if (keys.length === 0) {
          out('no API keys: the service serves loopback clients only, without keys (create one with `sextant keys create`)');
          return EXIT_OK;
        }
        out(`${pad('ID', 14)}${pad('ROLE', 8)}${pad('TEAMS', 24)}${pad('STATUS', 10)}${pad('CREATED', 26)}${pad('LAST USED', 26)}NAME`);
        for (const k of keys) {
          const teams = k.teams === '*' ? '*' : k.teams.join(',');
          out(
            `${pad(k.id, 14)}${pad(k.role, 8)}${pad(teams, 24)}${pad(k.revokedAt ? 'revoked' : 'active', 10)}${pad(k.createdAt, 26)}${pad(k.lastUsedAt ?? '-', 26)}${k.name ?? ''}`,
          );
        }
        return EXIT_OK;
      }
      case 'revoke': {
        if (rest.length !== 1 || rest[0].startsWith('--')) throw new UsageError('revoke takes exactly one key id');
        const changed = await deps.keys.revoke(rest[0]);
        out(changed ? `revoked API key ${rest[0]}` : `API key ${rest[0]} was already revoked`);
        return EXIT_OK;
      }
      default:
        throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      out(`error: ${err.message}`);
      for (const line of usage(deps.teams)) out(line);
      return EXIT_USAGE;
    }
    if (isUserError(err)) {
      out(`error: ${err.message}`);
      return EXIT_REFUSED;
    }
    throw err;
  }
}
