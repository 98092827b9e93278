/**
 * Reads a model field's selection set into the dimensions and measures of one SemanticQuery: the
 * selection *is* the query (docs/graphql.md). Fragments and inline fragments are followed, @skip/@include
 * honoured, and a time dimension selected at two grains (through aliases) gives two columns.
 */
import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  GraphQLIncludeDirective,
  GraphQLObjectType,
  GraphQLSkipDirective,
  Kind,
  type FieldNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import type { Dimension, DimensionRef, TimeGrain } from '../semantic/types.js';
import type { SqlValue } from '../serving/types.js';
import type { ModelBinding } from './model-binding.js';

/** The grain a time dimension takes when the client does not say: docs/graphql.md `(grain: TimeGrain = DAY)`. */
export const DEFAULT_GRAIN: TimeGrain = 'day';

/**
 * The key of a value in a {@link MetricsRow}: the member as written in the model, plus the grain for
 * time dimensions. Independent of the planner's own column keys, so rows are read the same way
 * whichever query produced them.
 */
export function columnKey(member: string, grain?: TimeGrain): string {
  return grain ? `${member}@${grain}` : member;
}

/** One result row of a model field, values by {@link columnKey}. */
export type MetricsRow = ReadonlyMap<string, SqlValue>;

/** A joined model's part of a row: what the nested `accounts { region }` field resolves to. */
export interface JoinedRow {
  row: MetricsRow;
  join: string;
}

export interface Selection {
  dimensions: DimensionRef[];
  measures: string[];
}

function included(node: FieldNode | { directives?: FieldNode['directives'] }, variables: Record<string, unknown>): boolean {
  const skip = getDirectiveValues(GraphQLSkipDirective, node, variables);
  if (skip?.if === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node, variables);
  return include?.if !== false;
}

/** Every field node of a selection set, through fragments, skipping what @skip/@include leave out. */
function collectFields(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo, out: FieldNode[] = [], seen = new Set<string>()): FieldNode[] {
  for (const selection of selectionSet?.selections ?? []) {
    if (!included(selection, info.variableValues)) continue;
    if (selection.kind === Kind.FIELD) out.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) collectFields(selection.selectionSet, info, out, seen);
    else {
      const name = selection.name.value;
      // A fragment spread twice in one selection set contributes its fields once.
      if (seen.has(name)) continue;
      seen.add(name);
      collectFields(info.fragments[name]?.selectionSet, info, out, seen);
    }
  }
  return out;
}

function grainArgument(type: GraphQLObjectType, node: FieldNode, info: GraphQLResolveInfo): TimeGrain {
  const def = type.getFields()[node.name.value];
  const args = def ? getArgumentValues(def, node, info.variableValues) : {};
  return (args.grain as TimeGrain | undefined) ?? DEFAULT_GRAIN;
}

/** Reads the selection of a model field (all its field nodes: the same response key may appear several times). */
export function readSelection(binding: ModelBinding, info: GraphQLResolveInfo): Selection {
  const rowType = getNamedType(info.returnType);
  if (!(rowType instanceof GraphQLObjectType)) throw new Error(`${info.fieldName} does not return an object type`);
  const dimensions = new Map<string, DimensionRef>();
  const measures = new Set<string>();
  const addDimension = (member: string, dimension: Dimension, type: GraphQLObjectType, node: FieldNode) => {
    const grain = dimension.type === 'time' ? grainArgument(type, node, info) : undefined;
    dimensions.set(columnKey(member, grain), grain ? { name: member, grain } : { name: member });
  };

  for (const modelNode of info.fieldNodes) {
    for (const node of collectFields(modelNode.selectionSet, info)) {
      const field = node.name.value;
      const dimension = binding.dimensions.get(field);
      if (dimension) {
        addDimension(dimension.name, dimension, rowType, node);
        continue;
      }
      const measure = binding.measures.get(field);
      if (measure) {
        measures.add(measure.name);
        continue;
      }
      const join = binding.joins.get(field);
      if (join) {
        const joinType = getNamedType(rowType.getFields()[field].type);
        if (!(joinType instanceof GraphQLObjectType)) continue;
        for (const joinedNode of collectFields(node.selectionSet, info)) {
          const joined = join.dimensions.get(joinedNode.name.value);
          if (joined) addDimension(`${join.join.name}.${joined.name}`, joined, joinType, joinedNode);
        }
      }
      // __typename and other meta fields select no column.
    }
  }
  return { dimensions: [...dimensions.values()], measures: [...measures] };
}
