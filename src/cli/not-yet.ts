/**
 * `sextant export`: docs/cli.md names it, but no export writer is built yet. It says so plainly and exits
 * non-zero instead of pretending to run.
 */
export async function notYetCommand(command: string, _args: string[]): Promise<number> {
  console.error(`sextant ${command}: exports are not available in this version yet.`);
  return 3;
}
