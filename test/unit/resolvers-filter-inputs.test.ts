/**
 * The filter inputs of schema/metrics.graphql against docs/graphql.md and against the operators the planner
 * accepts for each kind of member (OPERATORS_BY_TARGET): a filter the schema offers must never be one
 * the planner refuses.
 */
import { buildSchema, GraphQLInputObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { readFixedSchema } from '../../src/resolvers/schema-registry.js';
import { OPERATORS_BY_TARGET, type FilterTarget } from '../../src/semantic/filter-values.js';

const schema = buildSchema(readFixedSchema().join('\n').replace(/extend type Query/g, 'type QueryExtension'));
const OPERATOR_OF: Record<string, string[]> = {
  equals: ['EQUALS'], notEquals: ['NOT_EQUALS'], in: ['IN'], notIn: ['NOT_IN'], contains: ['CONTAINS'], startsWith: ['STARTS_WITH'],
  gt: ['GT'], gte: ['GTE'], lt: ['LT'], lte: ['LTE'], isNull: ['IS_NULL', 'IS_NOT_NULL'], inDateRange: ['IN_DATE_RANGE'],
};

function fields(name: string): string[] {
  const type = schema.getType(name);
  if (!(type instanceof GraphQLInputObjectType)) throw new Error(`${name} is not an input type`);
  return Object.keys(type.getFields());
}

describe('filter inputs', () => {
  it('offer exactly the operators docs/graphql.md lists per type (and §2.4 inDateRange on time)', () => {
    expect(fields('StringFilter')).toEqual(['equals', 'notEquals', 'in', 'notIn', 'contains', 'startsWith', 'isNull']);
    expect(fields('NumberFilter')).toEqual(['equals', 'notEquals', 'in', 'gt', 'gte', 'lt', 'lte', 'isNull']);
    expect(fields('TimeFilter')).toEqual(['equals', 'gt', 'gte', 'lt', 'lte', 'inDateRange']);
    expect(fields('BooleanFilter')).toEqual(['equals']);
  });

  it.each([
    ['StringFilter', 'string'],
    ['NumberFilter', 'number'],
    ['TimeFilter', 'time'],
    ['BooleanFilter', 'boolean'],
    ['MeasureFilter', 'measure'],
  ] as const)('%s only offers operators the planner accepts for a %s', (input, target: FilterTarget) => {
    const allowed: readonly string[] = OPERATORS_BY_TARGET[target];
    for (const field of fields(input)) for (const op of OPERATOR_OF[field]) expect(allowed).toContain(op);
  });
});
