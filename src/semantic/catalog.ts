/**
 * The catalog: a plain-data description of every team's models for `Query.catalog`, `sextant check`
 * and the console. Freshness (`lastLoadedAt`) is added by the face that knows the load history.
 */
import { referencedTables } from './sql-tokens.js';
import { TIME_GRAINS, type Dimension, type DimensionType, type Format, type MeasureType, type SemanticProject, type TimeGrain } from './types.js';

/** A dimension as the catalog lists it. */
export interface CatalogDimension {
  name: string;
  type: DimensionType;
  description?: string;
  /** Grains a time dimension can be selected at. */
  grains?: readonly TimeGrain[];
}

/** A measure as the catalog lists it. */
export interface CatalogMeasure {
  name: string;
  type: MeasureType;
  format?: Format;
  description?: string;
}

/** A join as the catalog lists it, with the dimensions it makes addressable (`accounts.region`). */
export interface CatalogJoin {
  name: string;
  /** `team.model` of the joined model. */
  model: string;
  relationship: 'many_to_one';
  dimensions: CatalogDimension[];
}

/** A rollup as the catalog lists it (docs/models.md, "Rollups"). */
export interface CatalogRollup {
  /** `team.model.rollup`: the name `extensions.sextant` gives when it answers. */
  id: string;
  name: string;
  measures: string[];
  dimensions: string[];
  timeDimension: string;
  grain: TimeGrain;
}

/** One model in the catalog. */
export interface CatalogModel {
  /** `team.name`. */
  id: string;
  name: string;
  team: string;
  description?: string;
  /** The warehouse table, when the model reads one table. */
  table?: string;
  /** What one row of the model is. */
  grain: string[];
  /** Tables the model reads (its `table`, or those named after FROM/JOIN in its `sql`), for freshness lookups. */
  tables: string[];
  dimensions: CatalogDimension[];
  measures: CatalogMeasure[];
  joins: CatalogJoin[];
  /** The model's rollups (describeCatalog always lists them, empty when none is declared). */
  rollups?: CatalogRollup[];
}

/** One team with its models. */
export interface CatalogTeam {
  name: string;
  models: CatalogModel[];
}

/** Everything a client may query, by team. */
export interface Catalog {
  teams: CatalogTeam[];
}

/** Describes the project as plain data: teams → models (by name) → dimensions, measures and joins, in file order. */
export function describeCatalog(project: SemanticProject): Catalog {
  const dims = (list: readonly Dimension[]): CatalogDimension[] =>
    list.map((d) => {
      const out: CatalogDimension = { name: d.name, type: d.type };
      if (d.description !== undefined) out.description = d.description;
      if (d.type === 'time') out.grains = TIME_GRAINS;
      return out;
    });
  const teams: CatalogTeam[] = project.teams.map((team) => ({ name: team, models: [] }));
  for (const model of project.models.values()) {
    let team = teams.find((t) => t.name === model.team);
    if (!team) {
      team = { name: model.team, models: [] };
      teams.push(team);
    }
    const entry: CatalogModel = {
      id: model.id,
      name: model.name,
      team: model.team,
      grain: model.grain,
      tables: model.table !== undefined ? [model.table] : referencedTables(model.sql ?? ''),
      dimensions: dims(model.dimensions),
      measures: model.measures.map((m) => {
        const out: CatalogMeasure = { name: m.name, type: m.type };
        if (m.format !== undefined) out.format = m.format;
        if (m.description !== undefined) out.description = m.description;
        return out;
      }),
      joins: model.joins.map((j) => ({ name: j.name, model: j.model, relationship: j.relationship, dimensions: dims(project.models.get(j.model)?.dimensions ?? []) })),
      rollups: (model.rollups ?? []).map((r) => ({
        id: `${model.id}.${r.name}`,
        name: r.name,
        measures: r.measures,
        dimensions: r.dimensions,
        timeDimension: r.timeDimension,
        grain: r.grain,
      })),
    };
    if (model.description !== undefined) entry.description = model.description;
    if (model.table !== undefined) entry.table = model.table;
    team.models.push(entry);
  }
  for (const team of teams) team.models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { teams };
}
