/**
 * How a model appears in the typed API: which GraphQL field is which member. Built once per model
 * and shared by the SDL generator, the selection reader and the filter converter, so that the three
 * can never disagree about a name.
 */
import type { Dimension, Join, Measure, Model, SemanticProject } from '../semantic/types.js';
import { assertGraphQLName, camelCase, modelTypeNames, type ModelTypeNames } from '../semantic/names.js';

/** A joined model's dimensions, reachable through a nested field of the row (`accounts { region }`). */
export interface JoinBinding {
  join: Join;
  fieldName: string;
  target: Model;
  /** Field name → dimension of the joined model. */
  dimensions: ReadonlyMap<string, Dimension>;
}

export interface ModelBinding {
  model: Model;
  /** The model's field under its team (`postPerformance`). */
  fieldName: string;
  names: ModelTypeNames;
  dimensions: ReadonlyMap<string, Dimension>;
  measures: ReadonlyMap<string, Measure>;
  joins: ReadonlyMap<string, JoinBinding>;
}

function index<T extends { name: string }>(items: readonly T[], origin: (item: T) => string, taken: Map<string, string>): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of items) {
    const field = assertGraphQLName(camelCase(item.name), origin(item));
    const clash = taken.get(field);
    if (clash !== undefined) throw new Error(`${origin(item)} and ${clash} both become the GraphQL field "${field}"`);
    taken.set(field, origin(item));
    out.set(field, item);
  }
  return out;
}

/** Binds a model's members to GraphQL field names; throws when two members collide. */
export function bindModel(project: SemanticProject, model: Model): ModelBinding {
  const where = (kind: string) => (item: { name: string }) => `${model.file} → ${kind}.${item.name}`;
  const taken = new Map<string, string>();
  const dimensions = index(model.dimensions, where('dimensions'), taken);
  const measures = index(model.measures, where('measures'), taken);
  const joins = new Map<string, JoinBinding>();
  for (const join of model.joins) {
    const fieldName = assertGraphQLName(camelCase(join.name), where('joins')(join));
    const clash = taken.get(fieldName);
    if (clash !== undefined) throw new Error(`${where('joins')(join)} and ${clash} both become the GraphQL field "${fieldName}"`);
    taken.set(fieldName, where('joins')(join));
    const target = project.models.get(join.model);
    if (!target) throw new Error(`${where('joins')(join)}: unknown model "${join.model}"`);
    joins.set(fieldName, { join, fieldName, target, dimensions: index(target.dimensions, (d) => `${target.file} → dimensions.${d.name}`, new Map()) });
  }
  return {
    model,
    fieldName: assertGraphQLName(camelCase(model.name), model.file),
    names: modelTypeNames(model.team, model.name),
    dimensions,
    measures,
    joins,
  };
}
