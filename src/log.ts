/**
 * A small structured logger, written to stderr so that CLI output on stdout stays clean.
 *
 * - `json` (production, containers, anything not a terminal): one JSON object per line, `time`, `level`,
 *   `msg`, then the fields — what log collectors expect.
 * - `pretty` (a terminal outside production): `12:00:01.234 INFO  msg key=value …`, for people.
 *
 * `SEXTANT_LOG_FORMAT=json|pretty` chooses; `SEXTANT_LOG_LEVEL` sets the threshold.
 *
 * Every line carries the fields of its async context ({@link withLogContext}): the HTTP server puts
 * `requestId` there for each request and the job queues put `jobId` and `jobType` there for each job, so
 * a line logged anywhere below a request or a job — a plugin, a service, an adapter — says which one it was
 * for, without passing a child logger down.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Default: SEXTANT_LOG_FORMAT, else `pretty` on a terminal outside production, else `json`. */
  format?: LogFormat;
  /** Where a finished line goes (default: stderr). Tests capture lines with it. */
  write?: (line: string) => void;
}

const context = new AsyncLocalStorage<Readonly<Record<string, unknown>>>();

/**
 * Runs `fn` with `fields` added to every line logged inside it, including after awaits and in callbacks
 * it starts. Nested calls add to the outer fields.
 */
export function withLogContext<T>(fields: Record<string, unknown>, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

/** The fields of the current async context (empty outside any). */
export function logContext(): Readonly<Record<string, unknown>> {
  return context.getStore() ?? {};
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack, ...(value.cause ? { cause: serialise(value.cause) } : {}) };
  }
  return value;
}

/** The format the environment asks for (see the module comment). */
export function defaultLogFormat(env: NodeJS.ProcessEnv = process.env, tty: boolean = process.stderr.isTTY === true): LogFormat {
  const asked = env.SEXTANT_LOG_FORMAT;
  if (asked && (LOG_FORMATS as readonly string[]).includes(asked)) return asked as LogFormat;
  return tty && env.NODE_ENV !== 'production' ? 'pretty' : 'json';
}

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (value && typeof value === 'object' && 'message' in value && 'stack' in value) {
    return `${JSON.stringify((value as { message: unknown }).message)}\n${String((value as { stack: unknown }).stack)}`;
  }
  return JSON.stringify(value);
}

function prettyLine(entry: Record<string, unknown>): string {
  const { time, level, msg, ...fields } = entry;
  const clock = String(time).slice(11, 23);
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${prettyValue(v)}`);
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${String(msg)}${rest.length ? ` ${rest.join(' ')}` : ''}`;
}

/** Creates a logger writing at or above `level`. */
export function createLogger(
  level: LogLevel = (process.env.SEXTANT_LOG_LEVEL as LogLevel) || 'info',
  base: Record<string, unknown> = {},
  options: LoggerOptions = {},
): Logger {
  const threshold = Math.max(0, LOG_LEVELS.indexOf(level));
  const format = options.format ?? defaultLogFormat();
  const out = options.write ?? ((line: string) => process.stderr.write(line));
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    // The context first, so that a field given at the call (or by a child) wins over it.
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg, ...context.getStore(), ...base };
    for (const [k, v] of Object.entries(fields ?? {})) entry[k] = serialise(v);
    out(`${format === 'pretty' ? prettyLine(entry) : JSON.stringify(entry)}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, { format, write: out }),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
