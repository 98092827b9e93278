/** The operations settings of docs/environment.md: shutdown deadline and delay, the worker's metrics port, the queue name, the log format. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { UserError } from '../../src/errors.js';
import { defaultLogFormat } from '../../src/log.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/tmp');
  } catch (err) {
    if (err instanceof UserError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('operations settings', () => {
  it('has defaults that fit a 30 s grace period and no worker port', () => {
    const c = loadConfig({}, '/tmp');
    expect({ timeout: c.shutdownTimeoutMs, delay: c.shutdownDelayMs, metricsPort: c.metricsPort, queueName: c.queueName }).toEqual({ timeout: 25_000, delay: 0, metricsPort: undefined, queueName: 'sextant' });
  });

  it('keeps 4 warehouse connections on DuckDB and 10 on PostgreSQL unless SEXTANT_WAREHOUSE_POOL_SIZE says', () => {
    expect(loadConfig({}, '/tmp').warehousePoolSize).toBe(4);
    expect(loadConfig({ SEXTANT_WAREHOUSE: 'duckdb:/tmp/w.duckdb' }, '/tmp').warehousePoolSize).toBe(4);
    expect(loadConfig({ SEXTANT_WAREHOUSE: 'postgres://u@localhost/db' }, '/tmp').warehousePoolSize).toBe(10);
    expect(loadConfig({ SEXTANT_WAREHOUSE: 'duckdb:/tmp/w.duckdb', SEXTANT_WAREHOUSE_POOL_SIZE: '7' }, '/tmp').warehousePoolSize).toBe(7);
    expect(loadConfig({ SEXTANT_WAREHOUSE: 'postgres://u@localhost/db', SEXTANT_WAREHOUSE_POOL_SIZE: '3' }, '/tmp').warehousePoolSize).toBe(3);
  });

  it('reads them, and names each bad one', () => {
    const c = loadConfig({ SEXTANT_SHUTDOWN_TIMEOUT_MS: '90000', SEXTANT_SHUTDOWN_DELAY_MS: '5000', SEXTANT_METRICS_PORT: '9464', SEXTANT_QUEUE_NAME: 'team-a_prod' }, '/tmp');
    expect({ timeout: c.shutdownTimeoutMs, delay: c.shutdownDelayMs, metricsPort: c.metricsPort, queueName: c.queueName }).toEqual({ timeout: 90_000, delay: 5000, metricsPort: 9464, queueName: 'team-a_prod' });
    expect(problems({ SEXTANT_SHUTDOWN_TIMEOUT_MS: '0', SEXTANT_SHUTDOWN_DELAY_MS: '-1', SEXTANT_METRICS_PORT: '70000', SEXTANT_QUEUE_NAME: 'a:b' }).map((p) => p.split(':')[0]).sort()).toEqual([
      'SEXTANT_METRICS_PORT',
      'SEXTANT_QUEUE_NAME',
      'SEXTANT_SHUTDOWN_DELAY_MS',
      'SEXTANT_SHUTDOWN_TIMEOUT_MS',
    ]);
  });

  it('logs JSON unless a person is watching a terminal outside production, or SEXTANT_LOG_FORMAT says', () => {
    expect(defaultLogFormat({}, false)).toBe('json');
    expect(defaultLogFormat({}, true)).toBe('pretty');
    expect(defaultLogFormat({ NODE_ENV: 'production' }, true)).toBe('json');
    expect(defaultLogFormat({ SEXTANT_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(defaultLogFormat({ SEXTANT_LOG_FORMAT: 'pretty', NODE_ENV: 'production' }, false)).toBe('pretty');
    expect(problems({ SEXTANT_LOG_FORMAT: 'yaml' })).toEqual(['SEXTANT_LOG_FORMAT: expected one of json, pretty, got "yaml"']);
  });
});
