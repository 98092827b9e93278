import { afterEach, describe, expect, it } from 'vitest';
import { API_KEYS_TABLE, KeyStore } from '../../src/auth/key-store.js';
import { createAuthenticator } from '../../src/auth/authenticate.js';
import { runKeysCommand } from '../../src/cli/keys.js';
import { UserError } from '../../src/errors.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { freshWarehouse } from '../support/warehouses.js';

const TEAMS = ['social', 'web', 'email', 'listening'] as const;

for (const dialect of ['duckdb', 'postgres'] as const) {
  describe(`KeyStore on ${dialect}`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      while (open.length) await open.pop()!.close();
    });

    async function store(options: { now?: () => number; cacheTtlMs?: number } = {}): Promise<{ keys: KeyStore; warehouse: Warehouse }> {
      const warehouse = await freshWarehouse(dialect);
      open.push(warehouse);
      const keys = new KeyStore(warehouse, { knownTeams: TEAMS, ...options });
      await keys.init();
      return { keys, warehouse };
    }

    it('creates a key that verifies to its role and teams, and stores only a hash', async () => {
      const { keys, warehouse } = await store();
      const { id, key } = await keys.create({ role: 'reader', teams: ['social', 'web'], name: 'tableau' });
      expect(key).toMatch(new RegExp(`^sx_${id}_[A-Za-z0-9_-]{43}$`));
      expect(await keys.verify(key)).toEqual({ keyId: id, role: 'reader', teams: ['social', 'web'] });

      const rows = await warehouse.query(`select * from ${warehouse.dialect.quoteTable(API_KEYS_TABLE)}`);
      expect(rows).toHaveLength(1);
      const secret = key.slice(`sx_${id}_`.length);
      for (const value of Object.values(rows[0])) {
        expect(String(value)).not.toContain(secret);
      }
      expect(String(rows[0].hash)).toMatch(/^[0-9a-f]{64}$/);
    });

    it('gives an admin key every team', async () => {
      const { keys } = await store();
      const { id, key } = await keys.create({ role: 'admin' });
      expect(await keys.verify(key)).toEqual({ keyId: id, role: 'admin', teams: '*' });
    });

    it('rejects a wrong secret, a malformed key and an unknown id', async () => {
      const { keys } = await store();
      const { id, key } = await keys.create({ role: 'ingest', teams: ['email'] });
      const last = key.at(-1) === 'A' ? 'B' : 'A';
      expect(await keys.verify(key.slice(0, -1) + last)).toBeUndefined();
      expect(await keys.verify(`sx_ffffffffffff_${key.slice(`sx_${id}_`.length)}`)).toBeUndefined();
      expect(await keys.verify('sx_' + id)).toBeUndefined();
      expect(await keys.verify("sx_' or 1=1 --")).toBeUndefined();
      expect(await keys.verify('')).toBeUndefined();
    });

    it('validates role, teams and name with clear errors', async () => {
      const { keys } = await store();
      await expect(keys.create({ role: 'owner', teams: ['social'] })).rejects.toThrow(/unknown role "owner": expected one of reader, ingest, admin/);
      await expect(keys.create({ role: 'reader', teams: [] })).rejects.toThrow(/a reader key needs at least one team.*social, web, email, listening/);
      await expect(keys.create({ role: 'ingest' })).rejects.toThrow(/needs at least one team/);
      await expect(keys.create({ role: 'reader', teams: ['social', 'finance'] })).rejects.toThrow(/unknown team "finance"/);
      await expect(keys.create({ role: 'admin', teams: ['social'] })).rejects.toThrow(/admin key sees every team/);
      await expect(keys.create({ role: 'reader', teams: ['web'], name: 'x'.repeat(101) })).rejects.toThrow(/at most 100 characters/);
      const error = await keys.create({ role: 'nope' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).code).toBe('BAD_USER_INPUT');
      expect(await keys.count()).toBe(0);
    });

    it('lists keys without their hash, and counts only active ones', async () => {
      const { keys } = await store();
      const a = await keys.create({ role: 'reader', teams: ['social'], name: 'a' });
      const b = await keys.create({ role: 'admin' });
      await keys.revoke(a.id);
      const list = await keys.list();
      expect(list.map((k) => k.id).sort()).toEqual([a.id, b.id].sort());
      for (const k of list) expect(Object.keys(k)).not.toContain('hash');
      const revoked = list.find((k) => k.id === a.id)!;
      expect(revoked).toMatchObject({ name: 'a', role: 'reader', teams: ['social'] });
      expect(revoked.revokedAt).toMatch(/^\d{4}-\d\d-\d\d/);
      expect(list.find((k) => k.id === b.id)).toMatchObject({ role: 'admin', teams: '*', revokedAt: undefined });
      expect(await keys.count()).toBe(1);
    });

    it('stops a revoked key at once, even when it was cached', async () => {
      const { keys } = await store();
      const { id, key } = await keys.create({ role: 'reader', teams: ['web'] });
      expect(await keys.verify(key)).toBeDefined();
      expect(await keys.revoke(id)).toBe(true);
      expect(await keys.verify(key)).toBeUndefined();
      expect(await keys.revoke(id)).toBe(false);
      await expect(keys.revoke('000000000000')).rejects.toThrow(/no API key has the id "000000000000"/);
    });

    it('respects a revocation made by another process once the cache period ends', async () => {
      let t = 1_000_000;
      const { keys, warehouse } = await store({ now: () => t, cacheTtlMs: 5_000 });
      const other = new KeyStore(warehouse, { knownTeams: TEAMS });
      const { id, key } = await keys.create({ role: 'reader', teams: ['web'] });
      expect(await keys.verify(key)).toBeDefined();
      await other.revoke(id);
      t += 5_001;
      expect(await keys.verify(key)).toBeUndefined();
    });

    it('records when a key was last used', async () => {
      const { keys } = await store();
      const { id, key } = await keys.create({ role: 'reader', teams: ['web'] });
      expect((await keys.list())[0].lastUsedAt).toBeUndefined();
      await keys.verify(key);
      const [info] = await keys.list();
      expect(info.id).toBe(id);
      expect(info.lastUsedAt).toMatch(/^\d{4}-\d\d-\d\d/);
    });

    it('authenticates requests with a stored key, and leaves keyless mode once a key exists', async () => {
      const { keys } = await store();
      const authenticate = createAuthenticator({ keys, allowKeyless: async () => (await keys.countCached()) === 0 });
      expect((await authenticate({ headers: {}, ip: '127.0.0.1' })).keyId).toBeUndefined();
      const { id, key } = await keys.create({ role: 'reader', teams: ['social'] });
      await expect(authenticate({ headers: {}, ip: '127.0.0.1' })).rejects.toThrow(/needs an API key/);
      expect((await authenticate({ headers: { authorization: `Bearer ${key}` } })).keyId).toBe(id);
      await keys.revoke(id);
      await expect(authenticate({ headers: { authorization: `Bearer ${key}` } })).rejects.toThrow(/not valid/);
    });

    it('runs `sextant keys create|list|revoke`', async () => {
      const { keys } = await store();
      const lines: string[] = [];
      const deps = { keys, teams: TEAMS, out: (line: string) => void lines.push(line) };

      expect(await runKeysCommand(['list'], deps)).toBe(0);
      expect(lines.join('\n')).toMatch(/no API keys/);

      lines.length = 0;
      expect(await runKeysCommand(['create', '--team', 'social', '--team=web', '--role', 'reader', '--name', 'excel'], deps)).toBe(0);
      const key = lines.map((l) => l.trim()).find((l) => l.startsWith('sx_'))!;
      expect(lines.join('\n')).toMatch(/cannot be shown again/);
      const principal = await keys.verify(key);
      expect(principal).toMatchObject({ role: 'reader', teams: ['social', 'web'] });

      lines.length = 0;
      expect(await runKeysCommand(['list'], deps)).toBe(0);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(new RegExp(`^${principal!.keyId}\\s+reader\\s+social,web\\s+active .*excel$`));
      expect(lines.join('\n')).not.toContain(key.slice(16));

      lines.length = 0;
      expect(await runKeysCommand(['revoke', principal!.keyId!], deps)).toBe(0);
      expect(lines).toEqual([`revoked API key ${principal!.keyId}`]);
      expect(await keys.verify(key)).toBeUndefined();
    });

    it('answers `sextant keys` mistakes with an error, the usage and a non-zero exit code', async () => {
      const { keys } = await store();
      const lines: string[] = [];
      const deps = { keys, teams: TEAMS, out: (line: string) => void lines.push(line) };
      const run = async (args: string[]) => {
        lines.length = 0;
        return runKeysCommand(args, deps);
      };
      expect(await run(['create', '--team', 'social', '--role', 'boss'])).toBe(1);
      expect(lines).toEqual(['error: unknown role "boss": expected one of reader, ingest, admin']);
      expect(await run(['create', '--team', 'finance', '--role', 'reader'])).toBe(1);
      expect(lines[0]).toMatch(/unknown team "finance": teams of this project are social, web, email, listening/);
      expect(await run(['create', '--team', 'social'])).toBe(2);
      expect(lines[0]).toBe('error: --role is required');
      expect(lines.join('\n')).toMatch(/usage:/);
      expect(await run(['create', '--role'])).toBe(2);
      expect(await run(['create', '--role', 'admin', '--colour', 'red'])).toBe(2);
      expect(await run(['revoke'])).toBe(2);
      expect(await run(['revoke', 'ffffffffffff'])).toBe(1);
      expect(await run(['rotate'])).toBe(2);
      expect(await run([])).toBe(2);
      expect(await keys.count()).toBe(0);
    });
  });
}
