/**
 * The OData entity model of one team: one entity set per semantic model, a flat table of
 *
 * - `rowKey` — the synthetic key (Edm.String): the row's grouped dimension values as JSON text. Every
 *   dimension may be null, and OData key properties may not, so no dimension can be the key.
 * - every dimension, camelCase as in GraphQL (`post_type` → `postType`); a time dimension is an
 *   Edm.Date at day grain (`metricDate`) plus the first day of its ISO week, month, quarter and year
 *   (`metricDateWeek`, `metricDateMonth`, `metricDateQuarter`, `metricDateYear`);
 * - every dimension of every join, named join + dimension (`accounts.region` → `accountsRegion`);
 * - every measure, camelCase (`engagement_rate` → `engagementRate`).
 *
 * Names come from `resolvers/names.ts`, the project's one naming module, so that OData and GraphQL
 * spell members alike.
 */
import { camelCase, pascalCase } from '../../semantic/names.js';
import type { ServedCatalog } from '../../serving/types.js';
import type { DimensionType, Format, MeasureType, TimeGrain } from '../../semantic/types.js';

type CatalogModel = ServedCatalog['teams'][number]['models'][number];
type CatalogDimension = CatalogModel['dimensions'][number];

export type EdmType = 'Edm.String' | 'Edm.Boolean' | 'Edm.Date' | 'Edm.DateTimeOffset' | 'Edm.Decimal' | 'Edm.Double' | 'Edm.Int64';

/** The time columns of a time dimension, in property order, and the suffix each adds to its name. */
export const TIME_COLUMNS: ReadonlyArray<{ grain: TimeGrain; suffix: string }> = [
  { grain: 'day', suffix: '' },
  { grain: 'week', suffix: 'Week' },
  { grain: 'month', suffix: 'Month' },
  { grain: 'quarter', suffix: 'Quarter' },
  { grain: 'year', suffix: 'Year' },
];

export interface EdmProperty {
  /** The OData property name. */
  name: string;
  type: EdmType;
  role: 'key' | 'dimension' | 'measure';
  /** The semantic member: `metric_date`, `accounts.region`, `impressions`. */
  member?: string;
  /** For dimensions: the semantic dimension type. */
  dimensionType?: DimensionType;
  /** For time columns: the grain this column holds. */
  grain?: TimeGrain;
  measureType?: MeasureType;
  format?: Format;
  description?: string;
}

export interface EdmEntitySet {
  /** PascalCase of the model's name (`PostPerformance`). */
  name: string;
  /** `team.model`. */
  modelId: string;
  description?: string;
  properties: EdmProperty[];
  byName: ReadonlyMap<string, EdmProperty>;
}

export interface EdmService {
  team: string;
  /** The CSDL namespace of the team's schema (`Sextant.Social`). */
  namespace: string;
  sets: EdmEntitySet[];
  byName: ReadonlyMap<string, EdmEntitySet>;
}

/** The name of the synthetic key property. */
export const ROW_KEY = 'rowKey';

function edmTypeOfDimension(type: DimensionType): EdmType {
  switch (type) {
    case 'string':
      return 'Edm.String';
    case 'boolean':
      return 'Edm.Boolean';
    case 'time':
      return 'Edm.Date';
    case 'number':
      // Decimal, not Double: written as exact JSON numbers in long notation (a bigint stays exact).
      return 'Edm.Decimal';
  }
}

/**
 * count and count_distinct are whole numbers (Edm.Int64). Every other measure is computed in double
 * precision by the semantic layer (a ratio, an average…), and Edm.Double says so honestly.
 */
function edmTypeOfMeasure(type: MeasureType): EdmType {
  return type === 'count' || type === 'count_distinct' ? 'Edm.Int64' : 'Edm.Double';
}

/** Builds the entity model of a team from the catalog of its models. */
export function buildEdmService(team: string, models: ReadonlyArray<Omit<CatalogModel, 'lastLoadedAt'>>): EdmService {
  const sets = models.map(entitySetOf);
  return { team, namespace: `Sextant.${pascalCase(team)}`, sets, byName: new Map(sets.map((s) => [s.name, s])) };
}

function entitySetOf(model: Omit<CatalogModel, 'lastLoadedAt'>): EdmEntitySet {
  const properties: EdmProperty[] = [];
  const taken = new Set<string>();
  // Names that meet once camelCased are reported by the model loader; a joined dimension meeting an
  // own one (`accounts_region` and `accounts.region`) is not, so a later one gets a numbered name.
  const unique = (name: string): string => {
    let out = name;
    for (let i = 2; taken.has(out); i++) out = `${name}${i}`;
    taken.add(out);
    return out;
  };
  properties.push({ name: unique(ROW_KEY), type: 'Edm.String', role: 'key', description: 'The row: its grouped dimension values as JSON text' });
  const addDimension = (d: CatalogDimension, member: string, base: string): void => {
    if (d.type === 'time') {
      for (const { grain, suffix } of TIME_COLUMNS) {
        const p: EdmProperty = { name: unique(base + suffix), type: 'Edm.Date', role: 'dimension', member, dimensionType: 'time', grain };
        const what = grain === 'day' ? '' : ` (first day of its ${grain === 'week' ? 'ISO week, Monday' : grain})`;
        if (d.description || what) p.description = `${d.description ?? member}${what}`;
        properties.push(p);
      }
      return;
    }
    const p: EdmProperty = { name: unique(base), type: edmTypeOfDimension(d.type), role: 'dimension', member, dimensionType: d.type };
    if (d.description) p.description = d.description;
    properties.push(p);
  };
  for (const d of model.dimensions) addDimension(d, d.name, camelCase(d.name));
  for (const j of model.joins) for (const d of j.dimensions) addDimension(d, `${j.name}.${d.name}`, camelCase(`${j.name}_${d.name}`));
  for (const m of model.measures) {
    const p: EdmProperty = { name: unique(camelCase(m.name)), type: edmTypeOfMeasure(m.type), role: 'measure', member: m.name, measureType: m.type };
    if (m.format) p.format = m.format;
    if (m.description) p.description = m.description;
    properties.push(p);
  }
  const set: EdmEntitySet = { name: pascalCase(model.name), modelId: model.id, properties, byName: new Map(properties.map((p) => [p.name, p])) };
  if (model.description) set.description = model.description;
  return set;
}
