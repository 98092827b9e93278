import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTargets, tableSpecOf, teamOfTarget } from '../../src/ingest/targets.js';

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sextant-targets-'));
  await mkdir(join(dir, 'targets'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'targets', name), text);
  return dir;
}

const GOOD = `# targets/social_manual_posts.yml
table: social.manual_posts
key: [platform, post_id, metric_date]
columns:
  platform:    { type: string, required: true }
  post_id:     { type: string, required: true, from: "Post ID" }
  metric_date: { type: date, required: true, from: "Date" }
  impressions: { type: integer, default: 0 }
  likes:       { type: integer }
on_error: reject
evolve: false
`;

describe('loadTargets', () => {
  it('reads a valid target with its columns, key, defaults and team', async () => {
    const dir = await project({ 'social_manual_posts.yml': GOOD });
    const { targets, problems } = await loadTargets(dir);
    expect(problems).toEqual([]);
    const t = targets.get('social_manual_posts');
    expect(t).toBeDefined();
    expect(t!.table).toBe('social.manual_posts');
    expect(t!.key).toEqual(['platform', 'post_id', 'metric_date']);
    expect(t!.onError).toBe('reject');
    expect(t!.evolve).toBe(false);
    expect(t!.file).toBe('targets/social_manual_posts.yml');
    expect(t!.columns.find((c) => c.name === 'post_id')).toEqual({ name: 'post_id', type: 'string', required: true, from: 'Post ID', default: undefined });
    expect(t!.columns.find((c) => c.name === 'impressions')?.default).toBe(0);
    expect(teamOfTarget(t!)).toBe('social');
    const spec = tableSpecOf(t!);
    expect(spec.columns.map((c) => c.name)).toEqual(['platform', 'post_id', 'metric_date', 'impressions', 'likes', '_run_id', '_loaded_at', '_source_object']);
    expect(spec.columns.find((c) => c.name === '_loaded_at')?.type).toBe('timestamp');
    expect(spec.key).toEqual(t!.key);
  });

  it('makes key columns required even when the file does not say so', async () => {
    const dir = await project({ 't.yml': 'table: web.x\nkey: [id]\ncolumns:\n  id: { type: integer }\n' });
    const { targets } = await loadTargets(dir);
    expect(targets.get('t')!.columns[0].required).toBe(true);
  });

  it('collects every problem of every file, each with file, path and line', async () => {
    const dir = await project({
      'bad_one.yml': [
        'table: Social.Posts',         // 1 bad names
        'key: [platform, nope]',       // 2 key column not a column
        'colour: blue',                // 3 unknown key
        'columns:',                    // 4
        '  platform: { type: strin }', // 5 unknown type
        '  Post-ID: { type: string }', // 6 bad column name
        '  likes: { type: integer, default: lots, sql: x }', // 7 bad default + unknown column key
        '  other: { type: string, from: PLATFORM }', // 8 same input field as platform
        'on_error: ignore',            // 9 bad on_error
        'evolve: maybe',               // 10 bad evolve
      ].join('\n'),
      'bad_two.yml': 'table: web.a\nkey: [id]\ncolumns:\n  id: { type: string }\n  id: { type: integer }\n',
    });
    const { targets, problems } = await loadTargets(dir);
    expect(targets.size).toBe(0);
    const one = problems.filter((p) => p.file === 'targets/bad_one.yml');
    const find = (path: string) => one.find((p) => p.path === path);
    expect(find('table')).toMatchObject({ line: 1 });
    expect(find('table')!.message).toMatch(/schema\.table/);
    expect(find('key[1]')).toMatchObject({ line: 2, message: expect.stringMatching(/"nope" is not one of the columns/) });
    expect(find('colour')).toMatchObject({ line: 3, message: expect.stringMatching(/unknown key "colour"/) });
    expect(find('columns.platform.type')).toMatchObject({ line: 5, message: expect.stringMatching(/unknown type "strin"; expected one of string, integer/) });
    expect(find('columns.Post-ID')).toMatchObject({ line: 6, message: expect.stringMatching(/snake_case/) });
    expect(find('columns.likes.default')).toMatchObject({ line: 7, message: expect.stringMatching(/expected integer, got "lots"/) });
    expect(find('columns.likes.sql')).toMatchObject({ line: 7 });
    expect(find('columns.other')).toMatchObject({ line: 8, message: expect.stringMatching(/same input field/) });
    expect(find('on_error')).toMatchObject({ line: 9, message: expect.stringMatching(/expected reject or skip, got "ignore"/) });
    expect(find('evolve')).toMatchObject({ line: 10 });
    const two = problems.filter((p) => p.file === 'targets/bad_two.yml');
    expect(two).toHaveLength(1);
    expect(two[0]).toMatchObject({ line: 5, message: expect.stringMatching(/unique/) });
  });

  it('rejects two targets writing one table, and treats a missing folder as no targets', async () => {
    const dir = await project({ 'a.yml': 'table: web.t\nkey: [id]\ncolumns:\n  id: { type: string }\n', 'b.yml': 'table: web.t\nkey: [id]\ncolumns:\n  id: { type: string }\n' });
    const { targets, problems } = await loadTargets(dir);
    expect([...targets.keys()]).toEqual(['a']);
    expect(problems).toEqual([expect.objectContaining({ file: 'targets/b.yml', path: 'table' })]);
    const empty = await mkdtemp(join(tmpdir(), 'sextant-targets-'));
    expect(await loadTargets(empty)).toEqual({ targets: new Map(), problems: [] });
  });
});
