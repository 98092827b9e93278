/**
 * docs/errors.md is the error catalogue users read: its table must list exactly the codes of
 * ERROR_CODES, each with the HTTP status the faces answer with.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';

const DOC = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));

/** The rows of the first markdown table whose header starts with `code`, as code → status. */
export function tableOfCodes(markdown: string): Map<string, number> {
  const rows = new Map<string, number>();
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => /^\|\s*code\s*\|\s*HTTP status\s*\|/.test(l));
  if (header < 0) throw new Error('docs/errors.md has no table with the header "| code | HTTP status |"');
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const code = cells[0]?.replace(/`/g, '') ?? '';
    if (rows.has(code)) throw new Error(`docs/errors.md lists ${code} twice`);
    rows.set(code, Number(cells[1]));
  }
  return rows;
}

describe('docs/errors.md', () => {
  const documented = tableOfCodes(readFileSync(DOC, 'utf8'));

  it('lists every code of ERROR_CODES and no other', () => {
    const codes = Object.keys(ERROR_CODES);
    expect(codes.filter((c) => !documented.has(c)), 'codes missing from docs/errors.md').toEqual([]);
    expect([...documented.keys()].filter((c) => !(c in ERROR_CODES)), 'codes in docs/errors.md that src/errors.ts lacks').toEqual([]);
  });

  it('gives each code the HTTP status of src/errors.ts', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) expect({ code, status: documented.get(code) }).toEqual({ code, status });
  });

  it('fails on a missing, extra or duplicated row', () => {
    const table = '| code | HTTP status | what |\n| --- | --- | --- |\n| `NOT_FOUND` | 404 | x |\n| `NOPE` | 400 | y |\n';
    expect([...tableOfCodes(table).keys()]).toEqual(['NOT_FOUND', 'NOPE']);
    expect(() => tableOfCodes(`${table}| \`NOPE\` | 400 | z |\n`)).toThrow(/twice/);
    expect(() => tableOfCodes('no table')).toThrow(/no table/);
  });
});
