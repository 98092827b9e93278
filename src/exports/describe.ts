/**
 * Words for the About sheet (and the CSV's companion metadata): the question asked, its filters, and
 * what each measure means. Written for the person who opens the file weeks later and must trust a number.
 */
import type { Filter, FilterNode, Measure, Model, SemanticQuery } from '../semantic/types.js';
import type { ServedColumn } from '../serving/types.js';

/** How an operator reads in a sentence; operators added later fall back to their own name. */
const OPERATOR_WORDS: Record<string, string> = {
  EQUALS: 'is',
  NOT_EQUALS: 'is not',
  IN: 'is one of',
  NOT_IN: 'is none of',
  CONTAINS: 'contains',
  STARTS_WITH: 'starts with',
  GT: '>',
  GTE: '≥',
  LT: '<',
  LTE: '≤',
  IS_NULL: 'is empty',
  IS_NOT_NULL: 'is not empty',
  IN_DATE_RANGE: 'is in the date range',
};

/** The header of a column: the member as written in the model, with its grain when it has one. */
export function columnHeader(column: Pick<ServedColumn, 'name' | 'grain'>): string {
  return column.grain ? `${column.name} (${column.grain})` : column.name;
}

function quoted(value: string | number | boolean): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}

/** One filter in words: `platform is one of "facebook", "instagram"`. */
export function describeFilter(node: FilterNode): string {
  if ('member' in node) {
    const f = node as Filter;
    const words = OPERATOR_WORDS[f.operator] ?? f.operator.toLowerCase().replace(/_/g, ' ');
    const values = (f.values ?? []).map(quoted).join(', ');
    return values === '' ? `${f.member} ${words}` : `${f.member} ${words} ${values}`;
  }
  if (node.and) return `(${node.and.map(describeFilter).join(' and ')})`;
  if (node.or) return `(${node.or.map(describeFilter).join(' or ')})`;
  return '(no condition)';
}

/** The question in one sentence: measures, grouping, filters, order and page. */
export function describeQuestion(query: SemanticQuery): string {
  const parts = [`${query.measures.join(', ') || '(no measures)'} from ${query.model}`];
  if (query.dimensions.length > 0) parts.push(`by ${query.dimensions.map((d) => columnHeader(d)).join(', ')}`);
  if (query.filters.length > 0) parts.push(`where ${query.filters.map(describeFilter).join(' and ')}`);
  if (query.orderBy.length > 0) {
    parts.push(`ordered by ${query.orderBy.map((o) => `${columnHeader({ name: o.member, ...(o.grain ? { grain: o.grain } : {}) })} ${o.direction === 'DESC' ? 'descending' : 'ascending'}`).join(', ')}`);
  }
  if (query.offset > 0) parts.push(`skipping the first ${query.offset} rows`);
  return parts.join(', ');
}

/** How a measure is computed, from its definition in the model. */
export function measureDefinition(measure: Measure): string {
  const of = measure.sql ?? measure.name;
  switch (measure.type) {
    case 'count':
      return measure.sql ? `count of ${measure.sql}` : 'count of rows';
    case 'count_distinct':
      return `count of distinct ${of}`;
    case 'sum':
      return `sum of ${of}`;
    case 'avg':
      return `average of ${of} over the rows (not additive: do not sum or average it again)`;
    case 'min':
      return `smallest ${of}`;
    case 'max':
      return `largest ${of}`;
    case 'last':
      return `${of} on the latest ${measure.timeDimension ?? 'date'} of each period (a balance: do not sum it across periods)`;
    case 'ratio':
      return `${measure.numerator} / ${measure.denominator}, each summed over the group first (not additive: do not sum or average it again)`;
    case 'derived':
      return `${measure.sql ?? ''}, computed from the measures after grouping (not additive)`;
  }
}

/** A measure column's definition line: the model's definition when known, else its type. */
export function describeMeasure(column: ServedColumn, model?: Model): { name: string; format: string; definition: string; description: string } {
  const measure = model?.measures.find((m) => m.name === column.name);
  const definition = measure ? measureDefinition(measure) : (column.measureType ?? '');
  const description = column.description ?? measure?.description ?? '';
  return { name: column.name, format: column.format ?? 'number', definition, description };
}
