/**
 * The `sextant` command line and the composition root's entry point (docs/cli.md). Every command reads the
 * same environment; a UserError is printed as it is and exits non-zero, anything else with its stack.
 */
import { pathToFileURL } from 'node:url';
import { isUserError } from '../errors.js';
import { holdYoungGeneration } from './young-generation.js';

const USAGE = `Usage: sextant <command> [options]

Commands:
  serve                                  run the service (API and workers, per SEXTANT_ROLE)
  demo [--rows N] [--seed S] [--force]   generate the example project's demo data (default 200k rows)
  check                                  validate the environment and the project, print the catalog
  ingest <file> --target <name>          load a file into a target, with a progress bar
  keys create --team T --role R | list | revoke <id>
  run-source <name> [--from D --to D]    run a source now, or backfill [from, to], with a progress bar
  export --model M --measures a,b --format xlsx|csv [--out F]
                                         export a metrics query to a file (docs/exports.md)

Environment: SEXTANT_WAREHOUSE, SEXTANT_OBJECT_STORE, SEXTANT_REDIS_URL, SEXTANT_PROJECT, HOST, PORT, SEXTANT_ROLE (see docs/environment.md).`;

/** Runs one CLI invocation; resolves with the process exit code (serve resolves only on shutdown). */
export async function runCli(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  let code = 0;
  try {
    switch (command) {
      case 'serve':
        // Before the service's modules load; serve releases it once it serves (young-generation.ts).
        holdYoungGeneration();
        code = await (await import('./serve.js')).serveCommand(rest);
        break;
      case 'demo':
        code = await (await import('./demo.js')).demoCommand(rest);
        break;
      case 'check':
        code = await (await import('./check.js')).checkCommand(rest);
        break;
      case 'ingest':
        code = await (await import('./ingest.js')).ingestCommand(rest);
        break;
      case 'keys':
        code = await (await import('./keys-command.js')).keysCommand(rest);
        break;
      case 'run-source':
        code = await (await import('./run-source.js')).runSourceCommand(rest);
        break;
      case 'export':
        code = await (await import('./export.js')).exportCommand(rest);
        break;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        break;
      default:
        console.error(`sextant: unknown command "${command}"\n\n${USAGE}`);
        code = 2;
    }
  } catch (err) {
    if (isUserError(err)) {
      console.error(`sextant ${command ?? ''}: ${err.message}`);
    } else {
      console.error(err);
    }
    code = 1;
  }
  process.exitCode = code;
}

// `node dist/src/main.js serve` (what `npm start` runs) as well as the bin script.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runCli(process.argv.slice(2));
}
