/**
 * The demo's fixed calendar: two years, 2024-12-01 to 2026-11-30, and the seasonality that shapes
 * every series. Fixed so that the same seed gives the same rows on any day the demo is generated.
 */

/** First day of the demo data (inclusive). */
export const DEMO_START = '2024-12-01';
/** Last day of the demo data (inclusive). */
export const DEMO_END = '2026-11-30';

const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2024, 11, 1);

/** Number of days in the demo range. */
export const DEMO_DAYS = Math.round((Date.UTC(2026, 10, 30) - START_MS) / DAY_MS) + 1;

/** The value written to `_loaded_at`: a fixed instant just after the range, never the clock. */
export const DEMO_LOADED_AT = '2026-12-01 06:00:00';

const ISO_DAYS: string[] = [];
const WEEKDAY: number[] = [];
const DAY_OF_YEAR: number[] = [];
const MONTH: number[] = [];
for (let d = 0; d < DEMO_DAYS; d++) {
  const date = new Date(START_MS + d * DAY_MS);
  ISO_DAYS.push(date.toISOString().slice(0, 10));
  WEEKDAY.push((date.getUTCDay() + 6) % 7); // 0 = Monday
  DAY_OF_YEAR.push(Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS));
  MONTH.push(date.getUTCMonth());
}

/** `YYYY-MM-DD` of day `d` (0 = DEMO_START); days past the end continue the calendar. */
export function isoDay(d: number): string {
  return d >= 0 && d < DEMO_DAYS ? ISO_DAYS[d] : new Date(START_MS + d * DAY_MS).toISOString().slice(0, 10);
}

/** `YYYY-MM-DD HH:MM:SS` (UTC) of day `d` plus `seconds`. */
export function timestampOf(d: number, seconds: number): string {
  return new Date(START_MS + d * DAY_MS + Math.round(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Milliseconds since the Unix epoch of day `d` plus `seconds` (for time-based ids). */
export function epochMsOf(d: number, seconds: number): number {
  return START_MS + d * DAY_MS + Math.round(seconds) * 1000;
}

/** Day of the week of day `d`: 0 = Monday … 6 = Sunday. */
export function weekday(d: number): number {
  return WEEKDAY[d] ?? (new Date(START_MS + d * DAY_MS).getUTCDay() + 6) % 7;
}

/** The audiences whose rhythm differs: social feeds, web visits, inboxes, public conversation. */
export type Rhythm = 'social' | 'web' | 'email' | 'listening';

const WEEKLY: Record<Rhythm, readonly number[]> = {
  // Social engagement peaks mid-week and dips at weekends (Sprout Social / Hootsuite timing studies).
  social: [1.0, 1.08, 1.1, 1.05, 0.96, 0.8, 0.82],
  // Site traffic of consumer brands: a softer weekend dip.
  web: [1.06, 1.08, 1.07, 1.04, 0.97, 0.86, 0.9],
  // Opens follow the send days; weekend opens are fewer.
  email: [1.0, 1.1, 1.08, 1.05, 0.95, 0.78, 0.8],
  listening: [1.02, 1.05, 1.05, 1.03, 1.0, 0.9, 0.88],
};

/**
 * Yearly shape: a spring rise, a summer lull in August, the late-November to Christmas retail peak
 * (Black Friday, Cyber Monday), and the January hangover.
 */
function yearly(d: number): number {
  const date = new Date(START_MS + d * DAY_MS);
  const doy = DAY_OF_YEAR[d] ?? Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS);
  const month = MONTH[d] ?? date.getUTCMonth();
  let f = 1 + 0.08 * Math.sin((2 * Math.PI * (doy - 60)) / 365);
  if (month === 7) f *= 0.88;
  if (month === 0 && doy < 14) f *= 0.85;
  if ((month === 10 && doy >= 325) || (month === 11 && doy <= 357)) f *= 1.3;
  return f;
}

/** Audience growth over the two years (+25 % a year, compounding). */
function trend(d: number): number {
  return Math.exp((0.22 * d) / 365);
}

function seasonOf(rhythm: Rhythm, d: number): number {
  return WEEKLY[rhythm][weekday(d)] * yearly(d) * trend(d);
}

const SEASONS: Record<Rhythm, Float64Array> = {
  social: Float64Array.from({ length: DEMO_DAYS + 1 }, (_, d) => seasonOf('social', d)),
  web: Float64Array.from({ length: DEMO_DAYS + 1 }, (_, d) => seasonOf('web', d)),
  email: Float64Array.from({ length: DEMO_DAYS + 1 }, (_, d) => seasonOf('email', d)),
  listening: Float64Array.from({ length: DEMO_DAYS + 1 }, (_, d) => seasonOf('listening', d)),
};

/** The seasonal multiplier of day `d` (any day, inside the range or not) for a rhythm, around 1. */
export function season(rhythm: Rhythm, d: number): number {
  return d >= 0 && d <= DEMO_DAYS ? SEASONS[rhythm][d] : seasonOf(rhythm, d);
}
