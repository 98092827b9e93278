/**
 * The OData feed as Power BI, Excel and Tableau use it (research checklist §1, §5), over real DuckDB
 * with the demo data: what Power Query sends, paging to the end, the EDMX schema, exact numbers,
 * filters against an independent evaluation, `$apply` refusing what it cannot answer exactly,
 * errors with positions, gzip, CORS, connection files and team scoping by every credential form.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { XmlDocument, XsdValidator } from 'libxml2-wasm';
import { xmlRegisterFsInputProviders } from 'libxml2-wasm/lib/nodejs.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from './graphql-harness.js';
import { get, readAll, startODataHarness, type ODataHarness } from './odata-harness.js';

let h: ODataHarness;
beforeAll(async () => {
  h = await startODataHarness();
}, 180_000);
afterAll(async () => {
  await h?.close();
});

const TEAMS = ['social', 'web', 'email', 'listening'];
const SCHEMA_DIR = new URL('../fixtures/odata/', import.meta.url);

interface MetaProperty {
  name: string;
  type: string;
  nullable: boolean;
}
interface MetaSet {
  name: string;
  key: string[];
  properties: Map<string, MetaProperty>;
}

/** Entity sets and their typed properties, read from the EDMX text. */
function readMetadata(xml: string): Map<string, MetaSet> {
  const doc = XmlDocument.fromString(xml);
  try {
    const ns = { edmx: 'http://docs.oasis-open.org/odata/ns/edmx', edm: 'http://docs.oasis-open.org/odata/ns/edm' };
    const sets = new Map<string, MetaSet>();
    for (const es of doc.find('//edm:EntityContainer/edm:EntitySet', ns)) {
      const el = es as unknown as { attr(name: string): { value: string } | null };
      const name = el.attr('Name')?.value as string;
      const typeName = (el.attr('EntityType')?.value as string).split('.').pop() as string;
      const type = doc.get(`//edm:EntityType[@Name='${typeName}']`, ns) as unknown as { find(x: string, ns: object): unknown[] };
      const key = type.find('edm:Key/edm:PropertyRef', ns).map((p) => (p as { attr(n: string): { value: string } }).attr('Name').value);
      const properties = new Map<string, MetaProperty>();
      for (const p of type.find('edm:Property', ns)) {
        const pe = p as { attr(n: string): { value: string } | null };
        properties.set(pe.attr('Name')?.value as string, { name: pe.attr('Name')?.value as string, type: pe.attr('Type')?.value as string, nullable: pe.attr('Nullable')?.value !== 'false' });
      }
      sets.set(name, { name, key, properties });
    }
    return sets;
  } finally {
    doc.dispose();
  }
}

/** Throws unless the document is valid against the OASIS EDMX/EDM schemas (CSDL XML 4.01, which admits 4.0). */
function validateEdmx(xml: string): void {
  xmlRegisterFsInputProviders();
  const schemaPath = new URL('edmx.xsd', SCHEMA_DIR);
  const schemaDoc = XmlDocument.fromBuffer(readFileSync(schemaPath), { url: schemaPath.pathname });
  const validator = XsdValidator.fromDoc(schemaDoc);
  const doc = XmlDocument.fromString(xml);
  try {
    validator.validate(doc);
  } finally {
    doc.dispose();
    validator.dispose();
    schemaDoc.dispose();
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Each value parses as its declared Edm type. */
function checkRow(set: MetaSet, row: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(row)) {
    const p = set.properties.get(name);
    expect(p, `${set.name}.${name} is declared`).toBeDefined();
    if (value === null) {
      expect(p?.nullable, `${set.name}.${name} may be null`).toBe(true);
      continue;
    }
    switch (p?.type) {
      case 'Edm.String':
        expect(typeof value).toBe('string');
        break;
      case 'Edm.Boolean':
        expect(typeof value).toBe('boolean');
        break;
      case 'Edm.Date':
        expect(value).toMatch(DATE);
        break;
      case 'Edm.Int64':
        expect(Number.isSafeInteger(value), `${set.name}.${name}=${String(value)} is an integer`).toBe(true);
        break;
      case 'Edm.Double':
      case 'Edm.Decimal':
        expect(typeof value).toBe('number');
        break;
      default:
        throw new Error(`unexpected type ${String(p?.type)} of ${set.name}.${name}`);
    }
  }
}

/** No JSON number in the text is written with an exponent. */
function expectNoExponent(text: string): void {
  expect(text).not.toMatch(/[:,[]\s*-?\d+(\.\d+)?[eE][+-]?\d+/);
}

async function metadataOf(team: string): Promise<Map<string, MetaSet>> {
  const res = await get(h.app, `/odata/${team}/$metadata`, h.keys.admin);
  expect(res.status).toBe(200);
  return readMetadata(res.text);
}

describe('service documents and $metadata', () => {
  it('answers Power Query with one OData-Version, an exact context and every model as an entity set', async () => {
    for (const team of TEAMS) {
      const res = await get(h.app, `/odata/${team}/`, h.keys.admin);
      expect(res.status).toBe(200);
      expect(res.headers['odata-version']).toBe('4.0'); // a repeated header would arrive as an array
      expect(res.headers['content-type']).toMatch(/^application\/json;odata\.metadata=minimal/);
      expect(res.json['@odata.context']).toBe(`http://localhost:80/odata/${team}/$metadata`);
      const models = [...h.project.models.values()].filter((m) => m.team === team);
      expect(res.json.value.map((v: { name: string }) => v.name).sort()).toEqual(
        models.map((m) => m.name.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('')).sort(),
      );
      for (const v of res.json.value) expect(v).toEqual({ name: v.name, kind: 'EntitySet', url: v.name });
      // The team root without its slash is the same document (never a redirect).
      const bare = await get(h.app, `/odata/${team}`, h.keys.admin);
      expect(bare.status).toBe(200);
      expect(bare.json).toEqual(res.json);
    }
  });

  it('serves $metadata as XML valid against the OASIS EDMX schema, even when JSON is asked for', async () => {
    for (const team of TEAMS) {
      for (const accept of [undefined, 'application/json']) {
        const res = await get(h.app, `/odata/${team}/$metadata`, h.keys.admin, accept ? { accept } : {});
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/xml/);
        expect(res.headers['odata-version']).toBe('4.0');
        validateEdmx(res.text);
        expect(res.text).not.toContain('NavigationProperty');
        const sets = readMetadata(res.text);
        for (const set of sets.values()) {
          expect(set.key).toEqual(['rowKey']);
          expect(set.properties.get('rowKey')?.nullable).toBe(false);
        }
      }
    }
  });

  it('describes measures with Core.Description and their format, and time dimensions with their grains', async () => {
    const res = await get(h.app, '/odata/social/$metadata', h.keys.admin);
    expect(res.text).toContain(
      '<Property Name="engagementRate" Type="Edm.Double"><Annotation Term="Sextant.Format" String="percent"/><Annotation Term="Sextant.MeasureType" String="ratio"/></Property>',
    );
    expect(res.text).toContain('<Property Name="posts" Type="Edm.Int64">');
    for (const p of ['metricDate', 'metricDateWeek', 'metricDateMonth', 'metricDateQuarter', 'metricDateYear']) expect(res.text).toContain(`<Property Name="${p}" Type="Edm.Date">`);
    expect(res.text).toContain('<Property Name="accountsRegion" Type="Edm.String"><Annotation Term="Core.Description" String="Client region: EMEA, NA or APAC"/>');
  });

  it('refuses an OData 3 client, and answers a bare /odata with the team roots', async () => {
    const old = await get(h.app, '/odata/social/', h.keys.admin, { 'odata-maxversion': '3.0' });
    expect(old.status).toBe(400);
    expect(old.json.error.code).toBe('BAD_USER_INPUT');
    const root = await get(h.app, '/odata', h.keys.socialReader);
    expect(root.status).toBe(404);
    expect(root.json.error.message).toContain('/odata/social/');
    expect(root.json.error.message).not.toContain('/odata/email/');
  });
});

/** The rows GraphQL's generic `metrics` gives for every dimension and measure of a model (an independent face). */
async function graphqlRows(modelId: string): Promise<Map<string, unknown[]>> {
  const model = h.project.models.get(modelId);
  if (!model) throw new Error(modelId);
  const dims = [...model.dimensions.map((d) => d.name), ...model.joins.flatMap((j) => (h.project.models.get(j.model)?.dimensions ?? []).map((d) => `${j.name}.${d.name}`))];
  const measures = model.measures.map((m) => m.name);
  const res = await gql(
    h.app,
    'query($q: SemanticQueryInput!) { metrics(query: $q) { rows } }',
    { q: { model: modelId, measures, dimensions: dims.map((name) => ({ name })), limit: 50_000 } },
    { authorization: `Bearer ${h.keys.admin}` },
  );
  expect(res.body.errors).toBeUndefined();
  const rows = (res.body.data as { metrics: { rows: unknown[][] } }).metrics.rows;
  expect(rows.length).toBeLessThan(50_000);
  return new Map(rows.map((r) => [JSON.stringify(r.slice(0, dims.length)), r.slice(dims.length)]));
}

describe('every entity set, paged as Power Query reads it', () => {
  it('follows every nextLink to exactly the rows of the model grain, distinct, typed as $metadata says', async () => {
    for (const team of TEAMS) {
      const meta = await metadataOf(team);
      for (const set of meta.values()) {
        const modelId = [...h.project.models.values()].find((m) => m.team === team && m.name.replace(/_/g, '').toLowerCase() === set.name.toLowerCase())?.id as string;
        const expected = await graphqlRows(modelId);
        const { rows, pages } = await readAll(h.app, `/odata/${team}/${set.name}?$count=true`, h.keys.admin, { prefer: 'odata.maxpagesize=2000' });
        expect(rows.length, `${set.name}`).toBe(expected.size);
        expect(new Set(rows.map((r) => r.rowKey)).size).toBe(rows.length);
        for (const page of pages) {
          expect(page.json['@odata.count']).toBe(expected.size);
          expect(page.headers['preference-applied']).toBe('odata.maxpagesize=2000');
          expect(page.json['@odata.context']).toBe(`http://localhost:80/odata/${team}/$metadata#${set.name}`);
          expectNoExponent(page.text);
        }
        expect(pages.length).toBe(Math.max(1, Math.ceil(expected.size / 2000)));
        const measureNames = [...set.properties.values()].filter((p) => p.type === 'Edm.Double' || p.type === 'Edm.Int64').map((p) => p.name);
        for (const row of rows) {
          checkRow(set, row);
          const want = expected.get(row.rowKey as string);
          expect(want, `${set.name} row ${String(row.rowKey)} is a group GraphQL has`).toBeDefined();
          const got = measureNames.map((m) => row[m]);
          expect(got.map((v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v))).toEqual(
            (want as unknown[]).map((v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)),
          );
        }
        const count = await get(h.app, `/odata/${team}/${set.name}/$count`, h.keys.admin);
        expect(count.status).toBe(200);
        expect(count.headers['content-type']).toMatch(/^text\/plain/);
        expect(count.text).toBe(String(expected.size));
      }
    }
  }, 300_000);

  it('with $top above the page size, delivers exactly $top rows across pages; nextLink carries what remains', async () => {
    const url = '/odata/social/PostPerformance?$select=metricDate,platform,postType,impressions&$top=2500&$skip=10';
    const { rows, pages } = await readAll(h.app, url, h.keys.admin, { prefer: 'odata.maxpagesize=1000' });
    expect(rows.length).toBe(2500);
    expect(pages.map((p) => p.json.value.length)).toEqual([1000, 1000, 500]);
    for (const p of pages.slice(0, 2)) {
      const link = new URL(p.json['@odata.nextLink']);
      expect(link.searchParams.has('$top')).toBe(false);
      expect(link.searchParams.get('$select')).toBe('metricDate,platform,postType,impressions');
    }
    expect(pages[2].json['@odata.nextLink']).toBeUndefined();
    // The same rows as one page asked for directly.
    const direct = await get(h.app, url, h.keys.admin);
    expect(direct.json.value).toEqual(rows);
    expect(direct.json['@odata.nextLink']).toBeUndefined();
  });

  it('orders by every grouped column when the client gives no $orderby, so pages never overlap', async () => {
    const { rows } = await readAll(h.app, '/odata/web/Traffic?$select=device,country,sessions', h.keys.admin, { prefer: 'odata.maxpagesize=7' });
    const keys = rows.map((r) => `${String(r.device)}|${String(r.country)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(keys);
  });

  it('matches an independent count and sum over the raw table (web.ga4_daily)', async () => {
    const raw = await h.raw.query(
      `select count(*) as n, sum(s) as sessions from (select metric_date, session_source, session_medium, device_category, country, sum(sessions) as s from web.ga4_daily group by 1, 2, 3, 4, 5) g`,
    );
    const { rows } = await readAll(h.app, '/odata/web/Traffic?$select=metricDate,source,medium,device,country,sessions', h.keys.admin);
    expect(rows.length).toBe(Number(raw[0].n));
    expect(rows.reduce((s, r) => s + (r.sessions as number), 0)).toBe(Number(raw[0].sessions));
  });
});

describe('$select groups through the semantic layer', () => {
  it('$select=platform,engagementRate equals the typed GraphQL answer', async () => {
    const od = await get(h.app, '/odata/social/PostPerformance?$select=platform,engagementRate', h.keys.admin);
    expect(od.status).toBe(200);
    expect(od.json['@odata.context']).toBe('http://localhost:80/odata/social/$metadata#PostPerformance(platform,engagementRate)');
    const g = await gql(h.app, '{ social { postPerformance { platform engagementRate } } }', undefined, { authorization: `Bearer ${h.keys.admin}` });
    const expected = (g.body.data as { social: { postPerformance: Array<{ platform: string; engagementRate: number }> } }).social.postPerformance;
    expect(expected.length).toBeGreaterThan(1);
    const byPlatform = new Map(od.json.value.map((r: { platform: string; engagementRate: number }) => [r.platform, r.engagementRate]));
    expect(byPlatform.size).toBe(expected.length);
    for (const e of expected) expect(byPlatform.get(e.platform)).toBe(e.engagementRate);
    // And the ratio is sum/sum at that grain, not an average of row ratios (independent SQL).
    const raw = await h.raw.query(`select platform, sum(likes + comments + shares) * 1.0 / sum(impressions) as r from social.post_daily group by platform`);
    for (const r of raw) expect(byPlatform.get(r.platform as string)).toBeCloseTo(Number(r.r), 12);
  });

  it('computes coarser time columns from the day, and groups at a coarser grain when the day is not selected', async () => {
    const monthly = await readAll(h.app, '/odata/web/Traffic?$select=metricDateMonth,sessions', h.keys.admin);
    const daily = await readAll(h.app, '/odata/web/Traffic?$select=metricDate,metricDateMonth,sessions', h.keys.admin);
    const sums = new Map<string, number>();
    for (const r of daily.rows) sums.set(r.metricDateMonth as string, (sums.get(r.metricDateMonth as string) ?? 0) + (r.sessions as number));
    expect(monthly.rows.length).toBe(sums.size);
    for (const r of monthly.rows) {
      expect(r.metricDateMonth).toMatch(/-01$/);
      expect(r.sessions).toBe(sums.get(r.metricDateMonth as string));
    }
    const weeks = await get(h.app, '/odata/web/Traffic?$select=metricDateWeek&$top=5', h.keys.admin);
    for (const r of weeks.json.value) expect(new Date(`${r.metricDateWeek}T00:00:00Z`).getUTCDay()).toBe(1);
  });
});

describe('$apply', () => {
  it('answers groupby with sum of a sum measure exactly, as $select would', async () => {
    const apply = await get(h.app, '/odata/social/PostPerformance?$apply=groupby((platform),aggregate(impressions with sum as total))', h.keys.admin);
    expect(apply.status).toBe(200);
    expect(apply.json['@odata.context']).toBe('http://localhost:80/odata/social/$metadata#PostPerformance(platform,total)');
    const select = await get(h.app, '/odata/social/PostPerformance?$select=platform,impressions', h.keys.admin);
    expect(apply.json.value).toEqual(select.json.value.map((r: { platform: string; impressions: number }) => ({ platform: r.platform, total: r.impressions })));
    const raw = await h.raw.query('select platform, sum(impressions) as s from social.post_daily group by platform order by platform');
    expect(apply.json.value).toEqual(raw.map((r) => ({ platform: r.platform, total: Number(r.s) })));
  });

  it('refuses an aggregation that would not equal the measure (sum of a ratio, of a distinct count)', async () => {
    for (const q of [
      'groupby((platform),aggregate(engagementRate with sum as x))',
      'groupby((platform),aggregate(posts with sum as x))',
      'aggregate(engagementRate with average as x)',
    ]) {
      const res = await get(h.app, `/odata/social/PostPerformance?$apply=${encodeURIComponent(q)}`, h.keys.admin);
      expect(res.status, q).toBe(501);
      expect(res.json.error).toMatchObject({ code: 'NOT_IMPLEMENTED', target: '$apply' });
      expect(res.json.error.message).toMatch(/would not equal the measure/);
    }
    const filterStep = await get(h.app, `/odata/social/PostPerformance?$apply=${encodeURIComponent("filter(platform eq 'x')/groupby((platform))")}`, h.keys.admin);
    expect(filterStep.status).toBe(501);
  });
});

describe('$filter against an independent evaluation of the same rows', () => {
  type R = Record<string, unknown>;
  const base = '/odata/web/Traffic?$select=metricDate,metricDateMonth,device,country,isPaid,sessions,users';
  let all: R[] = [];
  beforeAll(async () => {
    all = (await readAll(h.app, base, h.keys.admin)).rows;
    expect(all.length).toBeGreaterThan(100);
  });
  const d = (r: R) => r.metricDate as string;
  const cases: Array<[string, (r: R) => boolean]> = [
    ["device eq 'mobile'", (r) => r.device === 'mobile'],
    ["device ne 'mobile'", (r) => r.device !== 'mobile'],
    ["not (device eq 'mobile')", (r) => r.device !== 'mobile'],
    ["device in ('mobile','tablet')", (r) => r.device === 'mobile' || r.device === 'tablet'],
    ["not (device in ('mobile','tablet'))", (r) => r.device !== 'mobile' && r.device !== 'tablet'],
    ["country ne null and startswith(country,'U')", (r) => typeof r.country === 'string' && r.country.startsWith('U')],
    ["contains(country,'n')", (r) => typeof r.country === 'string' && r.country.includes('n')],
    ['metricDate ge 2026-11-01', (r) => d(r) >= '2026-11-01'],
    ['metricDate gt 2026-11-01 and metricDate le 2026-11-10', (r) => d(r) > '2026-11-01' && d(r) <= '2026-11-10'],
    ['metricDate eq 2026-11-05', (r) => d(r) === '2026-11-05'],
    ['metricDate ne 2026-11-05 and metricDate ge 2026-11-01', (r) => d(r) !== '2026-11-05' && d(r) >= '2026-11-01'],
    ['metricDateMonth eq 2026-10-01', (r) => r.metricDateMonth === '2026-10-01'],
    ['metricDateMonth gt 2026-09-15', (r) => (r.metricDateMonth as string) > '2026-09-15'],
    ['metricDateMonth lt 2026-01-15', (r) => (r.metricDateMonth as string) < '2026-01-15'],
    ['metricDateMonth eq 2026-10-15', () => false],
    ['not (metricDate lt 2026-11-20)', (r) => !(d(r) < '2026-11-20')],
    ['metricDate ge 2026-11-28T00:00:00Z', (r) => d(r) >= '2026-11-28'],
    ["isPaid and device eq 'desktop'", (r) => r.isPaid === true && r.device === 'desktop'],
    ["not isPaid and (device eq 'desktop' or device eq 'tablet')", (r) => r.isPaid === false && (r.device === 'desktop' || r.device === 'tablet')],
    ['isPaid eq false', (r) => r.isPaid === false],
    ['sessions gt 100', (r) => (r.sessions as number) > 100],
    ['sessions ge 100 and sessions le 200', (r) => (r.sessions as number) >= 100 && (r.sessions as number) <= 200],
    ['not (sessions gt 100)', (r) => !((r.sessions as number) > 100)],
    ['sessions in (1, 2, 3)', (r) => [1, 2, 3].includes(r.sessions as number)],
    ["(device eq 'mobile' or device eq 'tablet') and not (country eq 'United States' or country eq null)", (r) => (r.device === 'mobile' || r.device === 'tablet') && !(r.country === 'United States' || r.country === null)],
    ['true', () => true],
    ['false', () => false],
    ["'mobile' eq device", (r) => r.device === 'mobile'],
    ["contains(device,'obi') eq true", (r) => (r.device as string).includes('obi')],
  ];
  for (const [filter, predicate] of cases) {
    it(filter, async () => {
      const { rows } = await readAll(h.app, `${base}&$filter=${encodeURIComponent(filter)}`, h.keys.admin);
      const expected = all.filter(predicate);
      expect(rows).toEqual(expected);
      // Each case tells something apart: it keeps some rows and drops others (but the constant ones).
      if (!['true', 'false', 'metricDateMonth eq 2026-10-15'].includes(filter)) {
        expect(expected.length, filter).toBeGreaterThan(0);
        expect(expected.length, filter).toBeLessThan(all.length);
      }
    });
  }
});

describe('$filter keeps OData\'s meaning of null (measures that are null for X accounts)', () => {
  type R = Record<string, unknown>;
  const base = '/odata/social/AccountGrowth?$select=metricDate,platform,accountId,lostFollowers&$filter=metricDate%20ge%202026-11-20';
  let all: R[] = [];
  beforeAll(async () => {
    all = (await readAll(h.app, base, h.keys.admin)).rows;
    expect(all.some((r) => r.lostFollowers === null)).toBe(true);
    expect(all.some((r) => r.lostFollowers !== null)).toBe(true);
  });
  const lost = (r: R) => r.lostFollowers as number | null;
  const cases: Array<[string, (r: R) => boolean]> = [
    ['lostFollowers eq null', (r) => lost(r) === null],
    ['lostFollowers ne null', (r) => lost(r) !== null],
    ['lostFollowers gt 5', (r) => lost(r) !== null && (lost(r) as number) > 5],
    // not (null gt 5) is not false, so the nulls come back.
    ['not (lostFollowers gt 5)', (r) => lost(r) === null || (lost(r) as number) <= 5],
    ['lostFollowers ne 3', (r) => lost(r) !== 3],
    ['lostFollowers in (0, 1, null)', (r) => lost(r) === null || lost(r) === 0 || lost(r) === 1],
    ["not (lostFollowers in (0, 1)) and platform ne 'facebook'", (r) => lost(r) !== 0 && lost(r) !== 1 && r.platform !== 'facebook'],
    ['lostFollowers gt null', () => false],
    ['not (lostFollowers lt null)', () => true],
  ];
  for (const [filter, predicate] of cases) {
    it(filter, async () => {
      const { rows } = await readAll(h.app, `${base}%20and%20(${encodeURIComponent(filter)})`, h.keys.admin);
      expect(rows).toEqual(all.filter(predicate));
    });
  }
});

describe('errors say what and where', () => {
  const cases: Array<[string, number, string, RegExp]> = [
    ['$filter=platform eq', 400, '$filter', /position 12: expected a value after "eq"/],
    ["$filter=platform eq 'x", 400, '$filter', /position 13: the string starting here is not closed/],
    ["$filter=platfrm eq 'x'", 400, '$filter', /position 1: unknown property "platfrm"/],
    ["$filter=(platform eq 'x'", 400, '$filter', /position 17: expected "\)" closing the parenthesis opened at position 1, found the end/],
    ["$filter=platform eq 'x' xor impressions gt 1", 400, '$filter', /position 17: expected "and", "or" or the end of the filter, found "xor"/],
    ['$filter=impressions eq \'many\'', 400, '$filter', /"impressions" is a measure: compare it with a number/],
    ['$filter=metricDate eq 2026-02-30', 400, '$filter', /2026-02-30 is not a date of the calendar/],
    ["$filter=endswith(platform,'k')", 501, '$filter', /position 1: endswith is not supported/],
    ["$filter=not contains(platform,'k')", 501, '$filter', /not contains\(…\) is not supported/],
    ["$filter=platform gt 'f'", 501, '$filter', /"gt" on text/],
    ['$filter=impressions add 1 gt 2', 501, '$filter', /the operator "add" is not supported/],
    ['$select=platform,nope', 400, '$select', /position 10: unknown property "nope"/],
    ['$orderby=impressions sideways', 400, '$orderby', /position 13: unexpected "sideways"/],
    ['$orderby=postType', 400, '$orderby', /"postType" is not among the selected columns/],
    ['$top=-1', 400, '$top', /expected a whole number/],
    ['$expand=accounts', 501, '$expand', /\$expand is not supported/],
    ['$search=bank', 501, '$search', /\$search is not supported/],
    ['$format=xml', 501, '$format', /only JSON/],
    ['$skiptoken=garbage', 400, '$skiptoken', /not one this service made/],
    ['$count=yes', 400, '$count', /expected true or false/],
  ];
  for (const [query, status, target, message] of cases) {
    it(`${query} → ${status}`, async () => {
      const res = await get(h.app, `/odata/social/PostPerformance?${query.replace(/ /g, '%20')}${query.startsWith('$orderby=postType') ? '&$select=platform' : ''}`, h.keys.admin);
      expect(res.status, res.text).toBe(status);
      expect(res.headers['odata-version']).toBe('4.0');
      expect(res.json.error.target).toBe(target);
      expect(res.json.error.code).toBe(status === 501 ? 'NOT_IMPLEMENTED' : 'BAD_USER_INPUT');
      expect(res.json.error.message).toMatch(message);
    });
  }

  it('answers an unknown set with 404 naming the sets, and a key segment with 501', async () => {
    const res = await get(h.app, '/odata/social/Nope', h.keys.admin);
    expect(res.status).toBe(404);
    expect(res.json.error.message).toContain('PostPerformance');
    const keyed = await get(h.app, "/odata/social/PostPerformance('x')", h.keys.admin);
    expect(keyed.status).toBe(501);
  });
});

describe('transport', () => {
  it('gzips when asked', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/odata/social/PostPerformance?$top=50', headers: { authorization: `Bearer ${h.keys.admin}`, 'accept-encoding': 'gzip, deflate' } });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(res.rawPayload).toString('utf8')).value).toHaveLength(50);
  });

  it('answers CORS preflight for configured origins only', async () => {
    const ok = await h.app.inject({ method: 'OPTIONS', url: '/odata/social/PostPerformance', headers: { origin: 'https://addin.example.com', 'access-control-request-method': 'GET' } });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://addin.example.com');
    expect(String(ok.headers['access-control-allow-headers'])).toContain('authorization');
    const other = await h.app.inject({ method: 'OPTIONS', url: '/odata/social/PostPerformance', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' } });
    expect(other.statusCode).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const read = await get(h.app, '/odata/social/', h.keys.socialReader, { origin: 'https://addin.example.com' });
    expect(read.headers['access-control-allow-origin']).toBe('https://addin.example.com');
  });

  it('serves an Excel connection file per set and a Power BI file per team', async () => {
    const odc = await get(h.app, '/odata/social/PostPerformance.odc', h.keys.socialReader);
    expect(odc.status).toBe(200);
    expect(odc.headers['content-type']).toMatch(/^text\/x-ms-odc/);
    expect(odc.text).toContain('OData.Feed(&quot;http://localhost:80/odata/social/&quot;, null, [Implementation=&quot;2.0&quot;])');
    expect(odc.text).toContain('Source{[Name=&quot;PostPerformance&quot;,Signature=&quot;table&quot;]}[Data]');
    const pbids = await get(h.app, '/odata/social/connect.pbids', h.keys.socialReader);
    expect(pbids.json).toEqual({ version: '0.1', connections: [{ details: { protocol: 'odata', address: { url: 'http://localhost:80/odata/social/' } }, mode: 'Import' }] });
  });
});

describe('access', () => {
  const basic = (key: string) => `Basic ${Buffer.from(`powerbi:${key}`).toString('base64')}`;
  const forms = (key: string, path: string): Array<[string, string, Record<string, string>]> => [
    ['Bearer', path, { authorization: `Bearer ${key}` }],
    ['Basic', path, { authorization: basic(key) }],
    ['api_key', `${path}${path.includes('?') ? '&' : '?'}api_key=${encodeURIComponent(key)}`, {}],
  ];

  it('asks for Basic credentials without a key, and refuses a wrong one', async () => {
    const res = await get(h.app, '/odata/social/', undefined);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect(res.json.error.code).toBe('UNAUTHENTICATED');
    const wrong = await get(h.app, '/odata/social/PostPerformance', undefined, { authorization: basic('sx_not_a_key') });
    expect(wrong.status).toBe(401);
  });

  it("reads its own team by all three credential forms, and never echoes an api_key into links", async () => {
    for (const [form, url, headers] of forms(h.keys.socialReader, '/odata/social/PostPerformance?$select=platform,impressions&$top=3')) {
      const res = await get(h.app, url, undefined, { ...headers, prefer: 'odata.maxpagesize=1' });
      expect(res.status, form).toBe(200);
      expect(res.json.value).toHaveLength(1);
      expect(res.text).not.toContain(h.keys.socialReader);
      expect(res.json['@odata.nextLink']).not.toContain('api_key');
    }
  });

  it("a social key reads nothing of another team at any OData URL, by any credential form", async () => {
    const paths = [
      '/odata/email/',
      '/odata/email',
      '/odata/email/$metadata',
      '/odata/email/Campaigns',
      '/odata/email/Campaigns?$select=sends',
      '/odata/email/Campaigns/$count',
      '/odata/email/Campaigns.odc',
      '/odata/email/connect.pbids',
      '/odata/web/Traffic?$apply=aggregate(sessions%20with%20sum%20as%20s)',
      '/odata/listening/Mentions?$filter=mentions%20gt%200',
    ];
    for (const path of paths) {
      for (const [form, url, headers] of forms(h.keys.socialReader, path)) {
        const res = await get(h.app, url, undefined, headers);
        expect(res.status, `${form} ${path}`).toBe(403);
        expect(res.json.error.code).toBe('FORBIDDEN');
        expect(Object.keys(res.json)).toEqual(['error']);
        expect(res.text).not.toMatch(/Campaigns"|sends|EntityType|"value"/);
      }
    }
  });
});
