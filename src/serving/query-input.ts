/**
 * A generic query as clients send it (`SemanticQueryInput`, names as in the models) → a checked
 * {@link SemanticQuery}: the model must be readable by the principal, values must be scalars, and the
 * page must fit the configured row limits. Member names, operators against members, how many values an
 * operator takes and value types are the planner's to check, the same for every face.
 */
import { UserError } from '../errors.js';
import { NULL_OPERATORS } from '../semantic/filter-values.js';
import { FILTER_OPERATORS, type FilterNode, type FilterOperator, type OrderBy, type SemanticQuery } from '../semantic/types.js';
import { resolvePage, type RowLimits } from './row-limits.js';
import type { SemanticQueryInput } from './types.js';

function checkValues(filter: { member: string; operator: FilterOperator; values?: unknown[] | null }, path: string): Array<string | number | boolean> {
  const values = filter.values ?? [];
  if (!FILTER_OPERATORS.includes(filter.operator)) throw new UserError('BAD_USER_INPUT', `${path}.operator: unknown operator "${String(filter.operator)}"`);
  values.forEach((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new UserError('BAD_USER_INPUT', `${path}.values[${i}]: expected a string, number or boolean, got ${JSON.stringify(v)}`);
    }
  });
  return values as Array<string | number | boolean>;
}

/** Converts and checks a generic input for a model the caller already found readable. */
export function inputToQuery(modelId: string, input: SemanticQueryInput, limits: RowLimits): SemanticQuery {
  const page = resolvePage(input.limit, input.offset, limits);
  const filters: FilterNode[] = (input.filters ?? []).map((f, i) => {
    const values = checkValues(f, `query.filters[${i}]`);
    // How many values fit the operator is the planner's rule (semantic/filter-values.ts), as for every face.
    return NULL_OPERATORS.has(f.operator) && values.length === 0 ? { member: f.member, operator: f.operator } : { member: f.member, operator: f.operator, values };
  });
  const orderBy: OrderBy[] = (input.orderBy ?? []).map((o) => ({ member: o.member, direction: o.direction ?? 'ASC', ...(o.grain ? { grain: o.grain } : {}) }));
  return {
    model: modelId,
    measures: [...input.measures],
    dimensions: (input.dimensions ?? []).map((d) => (d.grain ? { name: d.name, grain: d.grain } : { name: d.name })),
    filters,
    orderBy,
    limit: page.limit,
    offset: page.offset,
  };
}
