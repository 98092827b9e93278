/**
 * Reading a derived measure's expression: which words are measure names. One classification shared by
 * validation (every reference must be a measure of the model) and planning (each reference is replaced
 * by that measure's aggregated value), so the two can never disagree.
 */
import { significant, tokenizeSql, type SqlToken } from './sql-tokens.js';

/** Words a derived expression may use besides measure names, function calls and type names. */
const KEYWORDS = new Set([
  'and', 'or', 'not', 'is', 'null', 'true', 'false', 'case', 'when', 'then', 'else', 'end', 'between', 'in', 'as', 'distinct',
]);

/** A derived expression split into tokens, with the tokens that refer to measures. */
export interface DerivedExpression {
  tokens: SqlToken[];
  /** Tokens (by identity) that name a measure. */
  references: Set<SqlToken>;
  /** Measure names referred to, in order of first use. */
  measures: string[];
  /** Why the expression is not allowed, if it is not. */
  invalid: string[];
}

/**
 * Classifies the words of a derived expression: a word followed by `(` is a function, words after
 * `AS` (up to the next punctuation) or `::` are a type, SQL keywords are keywords, and every other word
 * is a measure reference. Qualified names and quoted identifiers are refused: a derived measure may
 * only combine measures of its own model.
 */
export function analyseDerived(sql: string): DerivedExpression {
  const tokens = tokenizeSql(sql);
  const toks = significant(tokens);
  const references = new Set<SqlToken>();
  const measures: string[] = [];
  const invalid: string[] = [];
  let inType = false;
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    if (t.kind !== 'word') inType = false;
    if (t.kind === 'quoted') {
      invalid.push(`quoted identifier ${t.text} is not allowed; a derived expression may refer only to measures by name`);
      continue;
    }
    if (t.kind !== 'word') continue;
    const prev = toks[k - 1];
    const next = toks[k + 1];
    const lower = t.text.toLowerCase();
    if (inType) continue; // cast(x as double precision)
    if (lower === 'as') {
      inType = true;
      continue;
    }
    if (next?.text === '(') continue; // a function call such as nullif(…)
    if (prev?.text === '::') continue; // a type in x::float8
    if (prev?.text === '.') continue; // already reported with the start of its chain
    if (next?.text === '.') {
      let chain = t.text;
      for (let j = k + 1; toks[j]?.text === '.' && toks[j + 1]; j += 2) chain += `.${toks[j + 1].text}`;
      invalid.push(`"${chain}" is a qualified reference; a derived expression may refer only to measures of this model`);
      continue;
    }
    if (KEYWORDS.has(lower)) continue;
    references.add(t);
    if (!measures.includes(t.text)) measures.push(t.text);
  }
  return { tokens, references, measures, invalid };
}
