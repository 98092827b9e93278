/**
 * The example project's sources load with the project, show in GraphQL-facing form, and run offline
 * against the fakes through SEXTANT_SOURCE_<NAME>_BASE_URL (what `npm run fakes` prints): the
 * declarative web_microsites source (Link-header paging) and social_facebook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { loadProject, type Project } from '../../src/config/project.js';
import { startFacebookFake, type FacebookFake } from '../fakes/facebook/facebook-fake.js';
import { startRestFake, type RestFake } from '../fakes/rest/rest-fake.js';
import { openHarness } from './connector-harness.js';

describe('the example project\'s sources', () => {
  let project: Project;
  let rest: RestFake;
  let fb: FacebookFake;
  beforeAll(async () => {
    project = await loadProject(EXAMPLE_PROJECT);
    rest = await startRestFake();
    fb = await startFacebookFake();
  });
  afterAll(async () => {
    await rest.close();
    await fb.close();
  });

  it('configures a source of each of this branch\'s types, each feeding targets the models read', () => {
    const types = new Set([...project.sources.values()].map((s) => s.type));
    for (const t of ['facebook_pages', 'instagram', 'x', 'postgres', 'rest']) expect(types).toContain(t);
    const tables = new Set([...project.semantic.models.values()].map((m) => (m as { table?: string }).table).filter(Boolean));
    for (const s of project.sources.values()) for (const t of Object.values(s.streams)) expect(tables).toContain(project.targets.get(t)!.table);
  });

  it('runs web_microsites (rest, Link-header pages) and social_facebook offline against the fakes', async () => {
    const h = await openHarness('duckdb', {
      targets: [...project.targets.values()],
      sources: [...project.sources.values()],
      env: {
        SEXTANT_SOURCE_WEB_MICROSITES_BASE_URL: rest.url,
        MICROSITES_API_TOKEN: rest.token,
        SEXTANT_SOURCE_SOCIAL_FACEBOOK_BASE_URL: fb.baseUrl,
        FACEBOOK_PAGE_TOKEN: fb.token,
      },
      now: () => new Date('2026-10-01T06:00:00Z'),
    });
    try {
      const web = await h.run('web_microsites', { from: '2026-09-01', to: '2026-09-30' });
      expect(web.error).toBeUndefined();
      const expected = rest.sessions('2026-09-01', '2026-09-30');
      expect(web.job.rowsLoaded).toBe(expected.length);
      expect(rest.requests.filter((r) => r.query.has('page')).length).toBeGreaterThan(0);
      const [row] = await h.rows(`SELECT sessions, users FROM web.manual_sessions WHERE site = 'summit.example' AND metric_date = DATE '2026-09-15' AND channel = 'web'`);
      const e = expected.find((x) => x.site === 'summit.example' && x.date === '2026-09-15' && x.channel === 'web')!;
      expect(row).toEqual({ sessions: e.sessions, users: e.users });

      const social = await h.run('social_facebook', { from: '2026-09-21', to: '2026-09-30' });
      expect(social.error).toBeUndefined();
      const [{ n }] = await h.rows(`SELECT count(*) AS n FROM social.account_daily WHERE platform = 'facebook'`);
      // The example's four pages (the demo's Facebook accounts), ten days each.
      expect(Number(n)).toBe(40);
    } finally {
      await h.close();
    }
  });
});
