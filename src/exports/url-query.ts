/**
 * The question of a download URL (`GET /exports/<team>/<model>.xlsx?…`) and of `sextant export`, in a
 * syntax one can type into Excel's "From Web" box:
 *
 *   measures=impressions,engagement_rate      measures, comma-separated (required)
 *   dimensions=metric_date:week,platform      dimensions; `name:grain` picks a time grain
 *   grain=month                               the grain of time dimensions given without one
 *   order=-impressions,platform               sort; a leading `-` is descending
 *   platform=facebook,instagram               a filter: one value is EQUALS, several are IN
 *   metric_date.gte=2026-01-01                a filter with an operator: member.operator=value(s)
 *   impressions.gt=1000                       on a measure: a having
 *   platform.is_not_null                      operators without values take none
 *
 * Operators are the generic query's in lower case (`equals`, `not_in`, `starts_with`, …). A value that
 * holds a comma writes it as `\,`. Every name is checked against the model, and member names, operators
 * and values are checked again by the planner like any query: nothing here becomes SQL.
 */
import { UserError } from '../errors.js';
import { FILTER_OPERATORS, TIME_GRAINS, type FilterOperator, type Model, type TimeGrain } from '../semantic/types.js';
import type { SemanticQueryInput } from '../serving/types.js';

/** Parameters with a meaning of their own; every other parameter is a filter. */
export const RESERVED_PARAMS = ['measures', 'dimensions', 'grain', 'order', 'api_key'] as const;

/** A query string as fastify (and node:util's parseArgs, for the CLI) hand it: one value or several. */
export type ParamValues = Record<string, string | string[] | undefined>;

function bad(message: string): UserError {
  return new UserError('BAD_USER_INPUT', message);
}

/** Splits on commas not escaped as `\,`; drops empty items. */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (ch === ',') {
      items.push(current);
      current = '';
    } else current += ch;
  }
  items.push(current);
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

function all(values: string | string[] | undefined): string[] {
  if (values === undefined) return [];
  return (Array.isArray(values) ? values : [values]).flatMap(splitList);
}

function grainOf(text: string, where: string): TimeGrain {
  const g = text.toLowerCase();
  if (!(TIME_GRAINS as readonly string[]).includes(g)) throw bad(`${where}: unknown grain "${text}"; expected one of: ${TIME_GRAINS.join(', ')}`);
  return g as TimeGrain;
}

/** The names a filter parameter may start with: the model's dimensions and measures, and its joins. */
function isMember(model: Model, name: string): boolean {
  if (model.dimensions.some((d) => d.name === name) || model.measures.some((m) => m.name === name)) return true;
  const dot = name.indexOf('.');
  return dot > 0 && model.joins.some((j) => j.name === name.slice(0, dot));
}

/** Converts the parameters of a download URL (or the CLI's options) into a generic query of `model`. */
export function queryFromParams(model: Model, params: ParamValues): SemanticQueryInput {
  const measures = all(params.measures);
  if (measures.length === 0) {
    throw bad(`measures: name at least one measure of ${model.id}, comma-separated (measures=${model.measures.slice(0, 2).map((m) => m.name).join(',')}); it has: ${model.measures.map((m) => m.name).join(', ')}`);
  }
  const grains = all(params.grain);
  if (grains.length > 1) throw bad(`grain: give one grain, got ${grains.join(', ')}`);
  const defaultGrain = grains[0] === undefined ? undefined : grainOf(grains[0], 'grain');
  const timeDimensions = new Set(model.dimensions.filter((d) => d.type === 'time').map((d) => d.name));
  const dimensions = all(params.dimensions).map((text) => {
    const colon = text.lastIndexOf(':');
    const name = colon < 0 ? text : text.slice(0, colon);
    const grain = colon < 0 ? (timeDimensions.has(name) ? defaultGrain : undefined) : grainOf(text.slice(colon + 1), `dimensions: ${text}`);
    return grain ? { name, grain } : { name };
  });
  const orderBy = all(params.order).map((text) => {
    const desc = text.startsWith('-');
    const body = desc ? text.slice(1) : text;
    const colon = body.lastIndexOf(':');
    const member = colon < 0 ? body : body.slice(0, colon);
    const grain = colon < 0 ? dimensions.find((d) => d.name === member)?.grain : grainOf(body.slice(colon + 1), `order: ${text}`);
    return { member, direction: desc ? ('DESC' as const) : ('ASC' as const), ...(grain ? { grain } : {}) };
  });

  const operators = new Map(FILTER_OPERATORS.map((op) => [op.toLowerCase(), op as FilterOperator]));
  const filters: NonNullable<SemanticQueryInput['filters']> = [];
  for (const [param, raw] of Object.entries(params)) {
    if ((RESERVED_PARAMS as readonly string[]).includes(param) || raw === undefined) continue;
    const dot = param.lastIndexOf('.');
    const suffix = dot < 0 ? undefined : operators.get(param.slice(dot + 1).toLowerCase());
    const member = suffix ? param.slice(0, dot) : param;
    if (!isMember(model, member)) {
      throw bad(
        `unknown parameter "${param}": expected ${RESERVED_PARAMS.filter((p) => p !== 'api_key').join(', ')}, or a filter on a member of ${model.id} ` +
          `(member=value, or member.operator=value with an operator among ${[...operators.keys()].join(', ')}); its members: ${[...model.dimensions, ...model.measures].map((m) => m.name).join(', ')}`,
      );
    }
    const values = all(raw);
    const operator: FilterOperator = suffix ?? (values.length > 1 ? 'IN' : 'EQUALS');
    if (operator === 'IS_NULL' || operator === 'IS_NOT_NULL') {
      if (values.length > 0 && !(values.length === 1 && values[0] === 'true')) throw bad(`${param}: ${operator.toLowerCase()} takes no value`);
      filters.push({ member, operator });
    } else {
      if (values.length === 0) throw bad(`${param}: give a value (${param}=…)`);
      filters.push({ member, operator, values });
    }
  }
  return { model: model.id, measures, dimensions, filters, orderBy };
}
