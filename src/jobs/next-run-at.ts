/**
 * Schedule timing shared by both queues, so that they accept and reject the same schedules.
 * Cron patterns are read in UTC: a deployment's schedules must not move with the server's time zone.
 */
import { CronExpressionParser } from 'cron-parser';
import { UserError } from '../errors.js';
import type { Schedule } from './port.js';

/** Time zone of every cron pattern. */
export const SCHEDULE_TIME_ZONE = 'UTC';

/** Throws BAD_USER_INPUT unless the schedule has exactly one valid cron pattern (5 or 6 fields) or a positive interval. */
export function assertValidSchedule(schedule: Pick<Schedule, 'id' | 'cron' | 'everyMs'>): void {
  const { id, cron, everyMs } = schedule;
  if ((cron === undefined) === (everyMs === undefined)) {
    throw new UserError('BAD_USER_INPUT', `schedule "${id}" needs either a cron pattern or an interval (everyMs), not ${cron === undefined ? 'neither' : 'both'}`);
  }
  if (everyMs !== undefined && !(Number.isInteger(everyMs) && everyMs > 0)) {
    throw new UserError('BAD_USER_INPUT', `schedule "${id}": everyMs must be a positive integer, got ${everyMs}`);
  }
  if (cron !== undefined) {
    const fields = cron.trim().split(/\s+/).length;
    // cron-parser also takes aliases (@daily); BullMQ's scheduler reads the same library, so they are fine on both queues.
    if (!cron.trim().startsWith('@') && (fields < 5 || fields > 6)) {
      throw new UserError('BAD_USER_INPUT', `schedule "${id}": a cron pattern has 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields}: "${cron}"`);
    }
    try {
      CronExpressionParser.parse(cron, { tz: SCHEDULE_TIME_ZONE });
    } catch (err) {
      throw new UserError('BAD_USER_INPUT', `schedule "${id}": invalid cron pattern "${cron}": ${(err as Error).message}`, { cause: err });
    }
  }
}

/** The first run strictly after `after`. */
export function nextRunAt(schedule: Pick<Schedule, 'id' | 'cron' | 'everyMs'>, after: Date): Date {
  assertValidSchedule(schedule);
  if (schedule.everyMs !== undefined) return new Date(after.getTime() + schedule.everyMs);
  return CronExpressionParser.parse(schedule.cron as string, { tz: SCHEDULE_TIME_ZONE, currentDate: after }).next().toDate();
}
