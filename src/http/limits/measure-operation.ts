/**
 * One walk over an operation that measures what the limit rules check: depth, aliases, fields,
 * directives and an estimated cost. Fragments are measured once each and reused wherever they are
 * spread, so a fragment bomb (`...A` spreading `...B` twice, spreading `...C` twice, …) costs linear
 * time to measure while its counts grow as the executor would see them; a fragment cycle counts once
 * and is reported by graphql-js's own NoFragmentCyclesRule.
 */
import {
  getNamedType,
  isCompositeType,
  isInputObjectType,
  isObjectType,
  isInterfaceType,
  Kind,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/** What one operation adds up to. */
export interface OperationMeasure {
  /** Deepest chain of nested fields (a top-level scalar field is depth 1). */
  depth: number;
  /** Fields selected under an alias, counting every place a fragment is spread. */
  aliases: number;
  /** Fields selected, counting every place a fragment is spread. */
  fields: number;
  /** Directives used, counting every place a fragment is spread. */
  directives: number;
  /** Estimated cost: see {@link CostWeights}. */
  cost: number;
}

/**
 * How the cost is estimated. A plain field costs `fieldCost`. A field that takes a
 * `limit` (directly, or inside an input object such as `metrics(query: { limit })`) runs a warehouse
 * query: it costs `queryFieldCost`, and what is selected under it is multiplied by
 * `ceil(limit / rowsBase)` — a query for 50,000 rows weighs 50 times one for 1,000.
 */
export interface CostWeights {
  fieldCost: number;
  queryFieldCost: number;
  rowsBase: number;
  /** The limit assumed when it is a variable (worst case: the row cap). */
  variableLimit: number;
  /** The limit assumed when none is given and the argument has no default (the default row count). */
  defaultLimit: number;
}

interface SetMeasure {
  depth: number;
  aliases: number;
  fields: number;
  directives: number;
  cost: number;
}

const ZERO: SetMeasure = { depth: 0, aliases: 0, fields: 0, directives: 0, cost: 0 };
const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

function add(a: SetMeasure, b: SetMeasure): SetMeasure {
  return {
    depth: Math.max(a.depth, b.depth),
    aliases: a.aliases + b.aliases,
    fields: a.fields + b.fields,
    directives: a.directives + b.directives,
    cost: a.cost + b.cost,
  };
}

function intValue(node: ValueNode | undefined, weights: CostWeights): number | undefined {
  if (!node) return undefined;
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) return weights.variableLimit;
  return undefined;
}

/** The `limit` a list field will fetch, or undefined when the field takes no limit. */
function fieldLimit(def: GraphQLField<unknown, unknown>, node: FieldNode, weights: CostWeights): number | undefined {
  const given = (name: string): ArgumentNode | undefined => node.arguments?.find((a) => a.name.value === name);
  for (const arg of def.args) {
    if (arg.name === 'limit') {
      const value = given('limit')?.value;
      return intValue(value, weights) ?? (typeof arg.defaultValue === 'number' ? arg.defaultValue : weights.defaultLimit);
    }
    const argType = getNamedType(arg.type);
    if (isInputObjectType(argType) && 'limit' in argType.getFields()) {
      const value = given(arg.name)?.value;
      if (value?.kind === Kind.OBJECT) {
        const inner = value.fields.find((f) => f.name.value === 'limit')?.value;
        return intValue(inner, weights) ?? weights.defaultLimit;
      }
      return value?.kind === Kind.VARIABLE ? weights.variableLimit : weights.defaultLimit;
    }
  }
  return undefined;
}

/** Measures operations of one document against a schema, memoising fragments. */
export class OperationMeasurer {
  readonly #schema: GraphQLSchema;
  readonly #weights: CostWeights;
  readonly #fragments: Map<string, FragmentDefinitionNode>;
  readonly #memo = new Map<string, SetMeasure>();
  readonly #inProgress = new Set<string>();

  constructor(schema: GraphQLSchema, document: DocumentNode, weights: CostWeights) {
    this.#schema = schema;
    this.#weights = weights;
    this.#fragments = new Map();
    for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(def.name.value, def);
  }

  /** Measures one operation. */
  measure(operation: OperationDefinitionNode): OperationMeasure {
    const root =
      operation.operation === 'query'
        ? this.#schema.getQueryType()
        : operation.operation === 'mutation'
          ? this.#schema.getMutationType()
          : this.#schema.getSubscriptionType();
    const m = this.#selectionSet(operation.selectionSet, root ?? undefined, false);
    return { ...m, directives: m.directives + (operation.directives?.length ?? 0) };
  }

  #fragment(name: string, introspection: boolean): SetMeasure {
    const memoKey = `${introspection ? 'i' : 'o'}:${name}`;
    const known = this.#memo.get(memoKey);
    if (known) return known;
    const def = this.#fragments.get(name);
    // A cycle or an unknown fragment: other validation rules reject the document, so count nothing more.
    if (!def || this.#inProgress.has(name)) return ZERO;
    this.#inProgress.add(name);
    const type = this.#schema.getType(def.typeCondition.name.value);
    const m = this.#selectionSet(def.selectionSet, type, introspection);
    this.#inProgress.delete(name);
    const withOwn = { ...m, directives: m.directives + (def.directives?.length ?? 0) };
    this.#memo.set(memoKey, withOwn);
    return withOwn;
  }

  #selectionSet(set: SelectionSetNode, parent: GraphQLNamedType | undefined, introspection: boolean): SetMeasure {
    let total = ZERO;
    for (const sel of set.selections) {
      const directives = sel.directives?.length ?? 0;
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = this.#fragment(sel.name.value, introspection);
        total = add(total, { ...f, directives: f.directives + directives });
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? this.#schema.getType(sel.typeCondition.name.value) : parent;
        const m = this.#selectionSet(sel.selectionSet, type, introspection);
        total = add(total, { ...m, directives: m.directives + directives });
      } else {
        total = add(total, this.#field(sel, parent, introspection, directives));
      }
    }
    return total;
  }

  #field(node: FieldNode, parent: GraphQLNamedType | undefined, introspection: boolean, directives: number): SetMeasure {
    const inIntrospection = introspection || INTROSPECTION_ROOTS.has(node.name.value);
    const def = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[node.name.value] : undefined;
    const childType = def ? getNamedType(def.type) : undefined;
    const children = node.selectionSet
      ? this.#selectionSet(node.selectionSet, childType && isCompositeType(childType) ? childType : undefined, inIntrospection)
      : ZERO;

    let cost = 0;
    if (!inIntrospection) {
      // Introspection is schema metadata held in memory: it costs no warehouse work, and is bounded by the other limits.
      const limit = def ? fieldLimit(def, node, this.#weights) : undefined;
      if (limit === undefined) {
        cost = this.#weights.fieldCost + children.cost;
      } else {
        const multiplier = Math.max(1, Math.ceil(limit / this.#weights.rowsBase));
        cost = this.#weights.queryFieldCost + multiplier * children.cost;
      }
    }
    return {
      // Introspection's own nesting is bounded by graphql-js's MaxIntrospectionDepthRule (in specifiedRules).
      depth: inIntrospection ? 0 : 1 + children.depth,
      aliases: children.aliases + (node.alias ? 1 : 0),
      fields: children.fields + 1,
      directives: children.directives + directives,
      cost,
    };
  }
}
