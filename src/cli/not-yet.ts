/**
 * `sextant run-source` and `sextant export`: SPEC §6 names them, but no connector or export writer is
 * built yet. They say so plainly and exit non-zero instead of pretending to run.
 */
export async function notYetCommand(command: string, _args: string[]): Promise<number> {
  const what = command === 'run-source' ? 'connectors (sources/*.yml)' : 'exports';
  console.error(`sextant ${command}: ${what} are not available in this version yet.`);
  return 3;
}
