import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { loadProject } from '../../src/config/project.js';
import { UserError } from '../../src/errors.js';

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

/** The example project plus one extra model file. */
async function projectWith(file: string, yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sextant-boundary-'));
  dirs.push(dir);
  await cp(EXAMPLE_PROJECT, dir, { recursive: true });
  await writeFile(join(dir, 'models', file), yaml);
  return dir;
}

describe('team boundary of joins', () => {
  it('accepts the example project, whose joins stay inside their teams', async () => {
    await expect(loadProject(EXAMPLE_PROJECT)).resolves.toBeDefined();
  });

  it("refuses a join to another team's model at load, saying why", async () => {
    const dir = await projectWith(
      'social/mail_reach.yml',
      `name: mail_reach
table: social.post_daily
grain: [platform, post_id, metric_date]
dimensions:
  platform: { type: string }
measures:
  impressions: { type: sum }
joins:
  mail: { model: email.campaigns, relationship: many_to_one, on: { post_id: campaign_id, metric_date: metric_date } }
`,
    );
    const error = await loadProject(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('MODEL_INVALID');
    expect((error as UserError).problems).toEqual([
      {
        file: 'models/social/mail_reach.yml',
        path: 'joins.mail.model',
        message: expect.stringMatching(/^email\.campaigns belongs to team "email": a model may join only models of its own team \("social"\)/),
      },
    ]);
  });
});
