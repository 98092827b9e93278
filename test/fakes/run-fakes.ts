/**
 * `npm run fakes`: starts every third-party API fake on fixed local ports and prints their URLs and the
 * environment that points the example project's sources at them, so a newcomer can watch the sources
 * ingest offline (docs/connectors/offline-fakes.md).
 *
 *   npm run fakes                                 all fakes, ports 4710, 4711, …
 *   npm run fakes -- --only ga4,mailchimp         some of them
 *   npm run fakes -- --port-base 5000             other ports
 *   npm run fakes -- --fault ga4:throttle@3       inject a fault (kind@page[xtimes]), repeatable
 *
 * Faults can also be set while the fakes run: `curl -X POST <url>/__fake/faults -d '{"kind":"server_error","at":2}'`.
 */
import { FAULT_KINDS, type Fault, type FaultKind } from './fake-server.js';
import { exampleEnvironment, FAKES, type StartedFake } from './registry.js';

function usage(message: string): never {
  console.error(`${message}\nusage: npm run fakes -- [--only name,name] [--port-base N] [--fault name:kind@page[xtimes]]…\nfakes: ${FAKES.map((f) => f.name).join(', ')}; fault kinds: ${FAULT_KINDS.join(', ')}`);
  process.exit(2);
}

const args = process.argv.slice(2);
let only: string[] | undefined;
let portBase = 4710;
const faults: Array<{ name: string; fault: Fault }> = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = (): string => args[++i] ?? usage(`${a} needs a value`);
  if (a === '--only') only = value().split(',');
  else if (a === '--port-base') {
    portBase = Number(value());
    if (!Number.isInteger(portBase) || portBase < 1024 || portBase > 65000) usage('--port-base must be a port from 1024 to 65000');
  } else if (a === '--fault') {
    const m = /^([a-z0-9_]+):([a-z_]+)(?:@(\d+))?(?:x(\d+))?$/.exec(value());
    if (!m || !FAULT_KINDS.includes(m[2] as FaultKind)) usage(`--fault is name:kind@page[xtimes], e.g. ga4:throttle@3`);
    faults.push({ name: m[1], fault: { kind: m[2] as FaultKind, at: m[3] ? Number(m[3]) : 1, times: m[4] ? Number(m[4]) : 1 } });
  } else usage(`unknown argument ${a}`);
}
const chosen = FAKES.filter((f) => !only || only.includes(f.name));
for (const n of [...(only ?? []), ...faults.map((f) => f.name)]) if (!FAKES.some((f) => f.name === n)) usage(`no fake named ${n}`);

const started: Array<{ name: string; source?: string; fake: StartedFake; env?: Record<string, string> }> = [];
for (const entry of chosen) {
  const fake = await entry.start(portBase + FAKES.indexOf(entry));
  started.push({ name: entry.name, source: entry.source, fake, env: await exampleEnvironment(entry, fake) });
}
for (const { name, fault } of faults) started.find((s) => s.name === name)?.fake.server.inject(fault);

console.log('Fakes running (Ctrl-C stops them):\n');
for (const s of started) console.log(`  ${s.name.padEnd(16)} ${s.fake.baseUrl.padEnd(34)} ${s.env ? `source ${s.source}` : '(no example source)'}`);
console.log('\nPoint the example project at them (in the shell that runs sextant):\n');
for (const s of started) for (const [k, v] of Object.entries(s.env ?? {})) console.log(`export ${k}='${v}'`);
const others = started.filter((s) => !s.env);
if (others.length > 0) console.log(`\nCredentials of the fakes without an example source: ${others.map((s) => `${s.name} ${JSON.stringify(s.fake.credentials)}`).join('; ')}`);
console.log('\nthen, e.g.: npx sextant run-source web_ga4 --from 2026-08-01 --to 2026-11-30 (docs/connectors/offline-fakes.md)');
if (faults.length > 0) console.log(`\nFaults armed: ${faults.map((f) => `${f.name} ${f.fault.kind} at data request ${f.fault.at}${(f.fault.times ?? 1) > 1 ? ` ×${f.fault.times}` : ''}`).join('; ')}`);

const stop = async (): Promise<void> => {
  await Promise.all(started.map((s) => s.fake.server.close()));
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
