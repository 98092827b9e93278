/**
 * `sextant serve` (what `npm start` runs): opens the app (src/main.ts), generates the demo data into an
 * empty warehouse of the bundled example project, then starts the API role (HTTP server), the worker role
 * (job handlers and schedules), or both, per SEXTANT_ROLE. SIGINT/SIGTERM shut down gracefully.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, print } from 'graphql';
import { loadConfig, EXAMPLE_PROJECT } from '../config/env.js';
import { buildApi, buildWorkerHttp, followRollups, joinDeployment, openApp, startWorker, type PeerMembership } from '../main.js';
import { createLogger, type Logger } from '../log.js';
import { demoIsLoaded, generateDemo, DEFAULT_DEMO_ROWS } from '../demo/generate.js';
import { assertListenAllowed } from '../auth/authenticate.js';
import { LOOPBACK_PRINCIPAL } from '../auth/principal.js';
import { KeyStore } from '../auth/key-store.js';
import { UserError } from '../errors.js';
import { createProgressBar } from './progress-bar.js';
import { releaseYoungGeneration } from './young-generation.js';

/** A project may ship the query its users should try first; the example project does. */
function firstQuery(projectDir: string): string | undefined {
  const file = join(projectDir, 'queries', 'first-query.graphql');
  return existsSync(file) ? print(parse(readFileSync(file, 'utf8'))) : undefined;
}

/** Listens; a port already in use is one line naming it and PORT, not a stack trace. */
async function listen(server: { listen(o: { host: string; port: number }): Promise<unknown> }, host: string, port: number): Promise<void> {
  try {
    await server.listen({ host, port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new UserError('CONFIG_INVALID', `port ${port} on ${host} is already in use (another Sextant, or another program); stop it or choose another port: PORT=${port + 1} npm start`);
    }
    throw err;
  }
}

/**
 * Stops accepting connections and waits for in-flight requests (fastify answers 503 to new requests on
 * kept-alive connections meanwhile); past `timeoutMs` the remaining connections are cut.
 */
async function closeWithin(server: Awaited<ReturnType<typeof buildApi>>, timeoutMs: number, log: Logger): Promise<void> {
  const closed = server.close().then(() => true, () => true);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const inTime = await Promise.race([closed, late]);
  clearTimeout(timer);
  if (!inTime) {
    log.warn('requests still running at the shutdown deadline: closing their connections', { timeoutMs });
    server.server.closeAllConnections();
    await closed;
  }
}

export async function serveCommand(_args: string[]): Promise<number> {
  const config = loadConfig();
  const log = createLogger();
  const app = await openApp({
    config,
    log,
    checkColumns: true,
    // A bad access mode is refused before anything is written: no tables, no demo data.
    beforeWrites: async (warehouse) => {
      if (config.role !== 'worker') assertListenAllowed(config.host, await KeyStore.activeCount(warehouse));
    },
    beforeColumnCheck: async (warehouse) => {
      if (config.demo !== 'auto' || config.projectDir !== EXAMPLE_PROJECT || config.role === 'worker') return;
      if (await demoIsLoaded(warehouse)) return;
      const bar = createProgressBar('generating demo data');
      const started = performance.now();
      const result = await generateDemo(warehouse, { rows: DEFAULT_DEMO_ROWS, onProgress: (d, t) => bar.update(d, t, `${d.toLocaleString()} rows`) });
      const total = Object.values(result.tables).reduce((a, b) => a + b, 0);
      const seconds = (performance.now() - started) / 1000;
      bar.finish(`${total.toLocaleString()} rows in ${seconds.toFixed(1)} s (${Math.round(total / Math.max(seconds, 0.001)).toLocaleString()} rows/s)`);
    },
  });

  let stopping = false;
  let server: Awaited<ReturnType<typeof buildApi>> | undefined;
  let opsServer: Awaited<ReturnType<typeof buildWorkerHttp>> | undefined;
  let peers: PeerMembership | undefined;
  /**
   * Graceful shutdown (docs/deploy.md): readiness turns 503 at once; after SEXTANT_SHUTDOWN_DELAY_MS the
   * API stops accepting connections and finishes its in-flight requests while the worker stops taking
   * jobs and finishes its running ones, both within SEXTANT_SHUTDOWN_TIMEOUT_MS; past it, connections are
   * cut and running jobs handed back to the queue (another worker, or the next start, runs them).
   */
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const timeoutMs = config.shutdownTimeoutMs;
    log.info('shutting down: finishing in-flight requests and running jobs', { signal, timeoutMs });
    for (const s of [server, opsServer]) if (s) s.sextant.draining = true;
    if (server && config.shutdownDelayMs > 0) await sleep(config.shutdownDelayMs);
    const deadline = Date.now() + timeoutMs;
    // The server first: its in-flight requests may still enqueue jobs (an upload's completion), which a
    // closed queue would refuse. Then the queue, within what is left of the deadline.
    if (server) await closeWithin(server, timeoutMs, log);
    await app.queue.close(Math.max(1000, deadline - Date.now()));
    await opsServer?.close().catch(() => undefined);
    await peers?.leave();
    await app.close();
    log.info('shut down', { signal });
  };
  try {
    // Processes sharing one Redis must share one signing secret: refused here, before serving anything.
    peers = await joinDeployment(config, log);
    followRollups(app);
    if (config.role !== 'api') await startWorker(app);
    if (config.role !== 'worker') {
      server = await buildApi(app);
      // The schema every team reads (the loopback principal's, and any admin key's) is built before the first request.
      await server.sextant.prepareGraphql(LOOPBACK_PRINCIPAL);
      await listen(server, config.host, config.port);
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
      const keyless = (await app.keys.count()) === 0;
      console.log(`\nSextant is serving ${config.projectDir === EXAMPLE_PROJECT ? 'the example project' : config.projectDir}`);
      console.log(`  console:  ${base}/          Excel add-in: ${base}/excel/manifest.xml`);
      console.log(`  GraphQL:  ${base}/graphql${config.introspection ? '   (open it in a browser for the query page)' : ''}`);
      console.log(`  health:   ${base}/health/ready     metrics: ${base}/metrics`);
      console.log(
        keyless
          ? '  access:   no API key exists, so only this machine (loopback) is served, without keys. Create one with `npx sextant keys create --role admin`.'
          : '  access:   every request needs an API key (Bearer, Basic password, or ?api_key=).',
      );
      const first = firstQuery(config.projectDir);
      if (first) console.log(`\nA first query to paste:\n\n${first}\n`);
    } else {
      console.log(`Sextant worker running (concurrency ${config.workerConcurrency}).`);
    }
    if (config.role === 'worker' && config.metricsPort !== undefined) {
      opsServer = await buildWorkerHttp(app);
      await listen(opsServer, config.host, config.metricsPort);
      const address = opsServer.server.address();
      console.log(`  metrics:  http://${config.host}:${typeof address === 'object' && address ? address.port : config.metricsPort}/metrics`);
    }
    // Start-up is over: requests and jobs get V8's usual young generation (young-generation.ts).
    releaseYoungGeneration();
  } catch (err) {
    await shutdown('start-up failure');
    throw err;
  }
  const signal = await new Promise<string>((resolve) => {
    const on = (name: string) => () => {
      // A second signal while draining: the operator wants out now.
      if (stopping) {
        log.warn('second signal while shutting down: exiting now', { signal: name });
        process.exit(1);
      }
      resolve(name);
    };
    process.on('SIGINT', on('SIGINT'));
    process.on('SIGTERM', on('SIGTERM'));
  });
  await shutdown(signal);
  return 0;
}
