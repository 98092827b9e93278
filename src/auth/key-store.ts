/**
 * API keys (docs/http.md), kept in the warehouse's platform schema: `sextant.api_keys`. Only a hash of each
 * key's secret is stored; the key itself is shown once, when it is created.
 *
 * A key reads `sx_<id>_<secret>`: the id (hex, so it never contains `_`) finds the row, the secret
 * (32 random bytes, base64url) is checked against the row's hash.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UserError } from '../errors.js';
import type { Row, TableSpec, Warehouse } from '../warehouse/port.js';
import { KEY_ROLES, type KeyRole, type Principal } from './principal.js';

/** The table that holds the keys. */
export const API_KEYS_TABLE = 'sextant.api_keys';

const SPEC: TableSpec = {
  table: API_KEYS_TABLE,
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'name', type: 'string' },
    { name: 'role', type: 'string', required: true },
    // A JSON array of team names, or `"*"` for an admin; text so that every dialect stores it alike.
    { name: 'teams', type: 'string', required: true },
    { name: 'hash', type: 'string', required: true },
    { name: 'created_at', type: 'timestamp', required: true },
    { name: 'revoked_at', type: 'timestamp' },
    { name: 'last_used_at', type: 'timestamp' },
  ],
  key: ['id'],
};

/** What `list()` tells about a key: never its hash. */
export interface ApiKeyInfo {
  id: string;
  name: string | undefined;
  role: KeyRole;
  teams: readonly string[] | '*';
  /** ISO timestamps in UTC. */
  createdAt: string;
  revokedAt: string | undefined;
  lastUsedAt: string | undefined;
}

/** Input of {@link KeyStore.create}. */
export interface CreateKeyInput {
  role: string;
  /** Teams a reader or ingest key is scoped to; must be empty (or omitted) for an admin key. */
  teams?: readonly string[];
  name?: string;
}

export interface KeyStoreOptions {
  /** Teams of the project; a key may only be scoped to these. */
  knownTeams: readonly string[];
  /**
   * How long a verified key (and the active-key count) is trusted without asking the warehouse again.
   * Revocations made through this instance apply at once; those made by another process (the CLI)
   * within this many milliseconds.
   */
  cacheTtlMs?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

const KEY_PATTERN = /^sx_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const NAME_MAX = 100;

/**
 * SHA-256 of the secret. A slow password hash (scrypt, argon2) protects low-entropy secrets that people
 * choose; these secrets are 256 random bits, so a stolen hash cannot be brute-forced and a fast hash
 * keeps verification cheap on every request (the same reasoning as GitHub's and Stripe's token hashing).
 */
function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: a literal both DuckDB and PostgreSQL cast to TIMESTAMP. */
function sqlTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function parseTeams(raw: unknown): readonly string[] | '*' {
  const value: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
  if (value === '*') return '*';
  if (Array.isArray(value) && value.every((t) => typeof t === 'string')) return Object.freeze([...value]);
  throw new Error(`api_keys.teams holds an unexpected value: ${String(raw)}`);
}

function toInfo(row: Row): ApiKeyInfo {
  return {
    id: String(row.id),
    name: row.name === null || row.name === undefined ? undefined : String(row.name),
    role: row.role as KeyRole,
    teams: parseTeams(row.teams),
    createdAt: String(row.created_at),
    revokedAt: row.revoked_at === null || row.revoked_at === undefined ? undefined : String(row.revoked_at),
    lastUsedAt: row.last_used_at === null || row.last_used_at === undefined ? undefined : String(row.last_used_at),
  };
}

/** Creates, lists, revokes and verifies API keys. */
export class KeyStore {
  readonly #warehouse: Warehouse;
  readonly #knownTeams: readonly string[];
  readonly #ttl: number;
  readonly #now: () => number;
  /** Verified keys by their hash: `{ principal, until }`. Keyed by hash so that raw keys are not kept. */
  readonly #verified = new Map<string, { id: string; principal: Principal; until: number }>();
  #activeCount: { value: number; until: number } | undefined;

  constructor(warehouse: Warehouse, options: KeyStoreOptions) {
    this.#warehouse = warehouse;
    this.#knownTeams = [...options.knownTeams];
    this.#ttl = options.cacheTtlMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Creates the platform table if it is missing. */
  async init(): Promise<void> {
    await this.#warehouse.ensureTable(SPEC);
  }

  /** Creates a key and returns it; the key cannot be recovered later (only its hash is stored). */
  async create(input: CreateKeyInput): Promise<{ id: string; key: string }> {
    const role = input.role as KeyRole;
    if (!KEY_ROLES.includes(role)) {
      throw new UserError('BAD_USER_INPUT', `unknown role "${input.role}": expected one of ${KEY_ROLES.join(', ')}`);
    }
    const teams = [...new Set(input.teams ?? [])];
    if (role === 'admin' && teams.length > 0) {
      throw new UserError('BAD_USER_INPUT', 'an admin key sees every team: create it without --team');
    }
    if (role !== 'admin' && teams.length === 0) {
      throw new UserError('BAD_USER_INPUT', `a ${role} key needs at least one team (--team <name>); teams of this project: ${this.#knownTeams.join(', ') || '(none)'}`);
    }
    const unknown = teams.filter((t) => !this.#knownTeams.includes(t));
    if (unknown.length > 0) {
      throw new UserError(
        'BAD_USER_INPUT',
        `unknown team${unknown.length === 1 ? '' : 's'} ${unknown.map((t) => `"${t}"`).join(', ')}: teams of this project are ${this.#knownTeams.join(', ') || '(none)'}`,
      );
    }
    const name = input.name?.trim() || undefined;
    if (name !== undefined && name.length > NAME_MAX) {
      throw new UserError('BAD_USER_INPUT', `a key name has at most ${NAME_MAX} characters, got ${name.length}`);
    }

    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const d = this.#warehouse.dialect;
    await this.#warehouse.execute(
      `insert into ${d.quoteTable(API_KEYS_TABLE)} (id, name, role, teams, hash, created_at) values ($1, $2, $3, $4, $5, ${d.param(6, 'timestamp')})`,
      [id, name ?? null, role, JSON.stringify(role === 'admin' ? '*' : teams), hashSecret(secret), sqlTimestamp(this.#now())],
    );
    this.#activeCount = undefined;
    return { id, key: `sx_${id}_${secret}` };
  }

  /** Every key, active and revoked, oldest first; hashes are never returned. */
  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.#warehouse.query(
      `select id, name, role, teams, created_at, revoked_at, last_used_at from ${this.#warehouse.dialect.quoteTable(API_KEYS_TABLE)} order by created_at, id`,
    );
    return rows.map(toInfo);
  }

  /**
   * Revokes a key: it stops working at once in this process, and within the cache TTL in others.
   * Returns false when it was already revoked; throws NOT_FOUND for an unknown id.
   */
  async revoke(id: string): Promise<boolean> {
    const d = this.#warehouse.dialect;
    const rows = await this.#warehouse.query(`select revoked_at from ${d.quoteTable(API_KEYS_TABLE)} where id = $1`, [id]);
    if (rows.length === 0) throw new UserError('NOT_FOUND', `no API key has the id "${id}" (see \`sextant keys list\`)`);
    for (const [hash, entry] of this.#verified) if (entry.id === id) this.#verified.delete(hash);
    this.#activeCount = undefined;
    if (rows[0].revoked_at !== null) return false;
    await this.#warehouse.execute(
      `update ${d.quoteTable(API_KEYS_TABLE)} set revoked_at = ${d.param(2, 'timestamp')} where id = $1 and revoked_at is null`,
      [id, sqlTimestamp(this.#now())],
    );
    return true;
  }

  /**
   * Keys that are not revoked, read without creating anything: 0 when the keys table does not exist yet.
   * Start-up decides its access mode with this before it writes to the warehouse.
   */
  static async activeCount(warehouse: Pick<Warehouse, 'describeTable' | 'query' | 'dialect'>): Promise<number> {
    if (!(await warehouse.describeTable(API_KEYS_TABLE))) return 0;
    const rows = await warehouse.query(`select count(*) as n from ${warehouse.dialect.quoteTable(API_KEYS_TABLE)} where revoked_at is null`);
    return Number(rows[0]?.n ?? 0);
  }

  /** Number of keys that are not revoked. */
  async count(): Promise<number> {
    const rows = await this.#warehouse.query(`select count(*) as n from ${this.#warehouse.dialect.quoteTable(API_KEYS_TABLE)} where revoked_at is null`);
    const n = Number(rows[0]?.n ?? 0);
    this.#activeCount = { value: n, until: this.#now() + this.#ttl };
    return n;
  }

  /** Like {@link count} but answered from memory within the cache TTL: cheap enough for every request. */
  async countCached(): Promise<number> {
    const cached = this.#activeCount;
    if (cached && cached.until > this.#now()) return cached.value;
    return this.count();
  }

  /** The principal of a valid, unrevoked key; undefined for anything else (malformed, unknown, wrong secret, revoked). */
  async verify(key: string): Promise<Principal | undefined> {
    const match = KEY_PATTERN.exec(key);
    if (!match) return undefined;
    const [, id, secret] = match;
    const hash = hashSecret(secret);
    const now = this.#now();
    const hit = this.#verified.get(hash);
    if (hit && hit.until > now && hit.id === id) return hit.principal;
    this.#verified.delete(hash);

    const d = this.#warehouse.dialect;
    const rows = await this.#warehouse.query(
      `select id, role, teams, hash from ${d.quoteTable(API_KEYS_TABLE)} where id = $1 and revoked_at is null`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    // Constant-time comparison, so that response timing tells nothing about how much of a hash matched.
    const expected = Buffer.from(String(row.hash), 'hex');
    const actual = Buffer.from(hash, 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;

    const role = row.role as KeyRole;
    const teams = role === 'admin' ? '*' : parseTeams(row.teams);
    const principal: Principal = Object.freeze({ keyId: id, role, teams });
    this.#verified.set(hash, { id, principal, until: now + this.#ttl });
    // Recorded once per cache period rather than per request, to keep the warehouse out of the hot path.
    await this.#warehouse.execute(`update ${d.quoteTable(API_KEYS_TABLE)} set last_used_at = ${d.param(2, 'timestamp')} where id = $1`, [
      id,
      sqlTimestamp(now),
    ]);
    return principal;
  }
}
