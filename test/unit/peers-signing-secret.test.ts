import { describe, expect, it } from 'vitest';
import { livePeers, secretFingerprint, signingSecretConflict, type PeerInfo } from '../../src/jobs/peers.js';

const peer = (over: Partial<PeerInfo>): PeerInfo => ({ id: 'x', role: 'all', host: 'h1', pid: 10, startedAt: '2026-12-01T00:00:00.000Z', secret: 'unset', ...over });

describe('signing secrets across processes', () => {
  it('fingerprints equal secrets alike, different ones apart, and never contains the secret', () => {
    const secret = 'a'.repeat(64);
    expect(secretFingerprint(secret)).toBe(secretFingerprint(secret));
    expect(secretFingerprint(secret)).not.toBe(secretFingerprint('b'.repeat(64)));
    expect(secretFingerprint(secret)).toMatch(/^[0-9a-f]{16}$/);
    expect(secretFingerprint(secret)).not.toContain('aaaa');
    expect(secretFingerprint(undefined)).toBe('unset');
    expect(secretFingerprint('')).toBe('unset');
  });

  it('refuses a process without a secret beside another, one beside a process without, and different secrets', () => {
    const s1 = secretFingerprint('one');
    const s2 = secretFingerprint('two');
    expect(signingSecretConflict(peer({ id: 'me' }), [])).toBeUndefined();
    expect(signingSecretConflict(peer({ id: 'me' }), [peer({ id: 'o', secret: s1, pid: 77, role: 'worker' })])).toMatch(/worker process 77 on h1.*SEXTANT_SIGNING_SECRET is not set in this one/s);
    expect(signingSecretConflict(peer({ id: 'me', secret: s1 }), [peer({ id: 'o' })])).toMatch(/runs without SEXTANT_SIGNING_SECRET.*restart that one/);
    expect(signingSecretConflict(peer({ id: 'me', secret: s1 }), [peer({ id: 'o', secret: s2 })])).toMatch(/different SEXTANT_SIGNING_SECRET/);
    expect(signingSecretConflict(peer({ id: 'me', secret: s1 }), [peer({ id: 'o', secret: s1 }), peer({ id: 'p', secret: s1 })])).toBeUndefined();
  });

  it("does not count this process's own entry, nor a dead process's of this host, nor a restarted container's pid", () => {
    const self = peer({ id: 'me', host: 'h1', pid: 1 });
    const entries = [
      self,
      peer({ id: 'gone', host: 'h1', pid: 500 }),
      peer({ id: 'old-me', host: 'h1', pid: 1 }),
      peer({ id: 'alive', host: 'h1', pid: 600 }),
      peer({ id: 'elsewhere', host: 'h2', pid: 500 }),
    ];
    const alive = (pid: number) => pid === 600;
    expect(livePeers(self, entries, alive).map((p) => p.id)).toEqual(['alive', 'elsewhere']);
  });
});
