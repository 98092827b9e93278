/** Schedule timing shared by both queues: which patterns are accepted, and when they fire (UTC). */
import { describe, expect, it } from 'vitest';
import { assertValidSchedule, nextRunAt } from '../../src/jobs/next-run-at.js';

const at = (iso: string) => new Date(iso);

describe('nextRunAt', () => {
  it('reads a 5-field pattern in UTC, whatever the server time zone', () => {
    expect(nextRunAt({ id: 'nightly', cron: '0 3 * * *' }, at('2026-01-01T05:00:00Z')).toISOString()).toBe('2026-01-02T03:00:00.000Z');
    expect(nextRunAt({ id: 'nightly', cron: '0 3 * * *' }, at('2026-01-01T02:59:59Z')).toISOString()).toBe('2026-01-01T03:00:00.000Z');
    // Mondays at 06:30: 2026-01-01 is a Thursday.
    expect(nextRunAt({ id: 'weekly', cron: '30 6 * * 1' }, at('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-05T06:30:00.000Z');
  });

  it('reads a 6-field pattern with seconds first', () => {
    expect(nextRunAt({ id: 's', cron: '*/15 * * * * *' }, at('2026-01-01T10:00:07Z')).toISOString()).toBe('2026-01-01T10:00:15.000Z');
  });

  it('fires strictly after the given time', () => {
    expect(nextRunAt({ id: 'm', cron: '0 * * * *' }, at('2026-01-01T10:00:00Z')).toISOString()).toBe('2026-01-01T11:00:00.000Z');
    expect(nextRunAt({ id: 'e', everyMs: 1500 }, at('2026-01-01T10:00:00Z')).toISOString()).toBe('2026-01-01T10:00:01.500Z');
  });

  it('accepts aliases and rejects what is not a schedule, saying why', () => {
    expect(() => assertValidSchedule({ id: 'd', cron: '@daily' })).not.toThrow();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ cron: '0 3 * *' }, /5 fields .* or 6/],
      [{ cron: '0 0 3 * * * *' }, /5 fields .* or 6/],
      [{ cron: '99 3 * * *' }, /invalid cron pattern/],
      [{ everyMs: 0 }, /positive integer/],
      [{ everyMs: 1.5 }, /positive integer/],
      [{}, /not neither/],
      [{ cron: '* * * * *', everyMs: 10 }, /not both/],
    ];
    for (const [schedule, message] of bad) {
      expect(() => assertValidSchedule({ id: 'x', ...schedule })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) }));
    }
  });
});
