/**
 * A small SQL tokenizer for the expressions written in models. It is not a parser: it exists so that
 * the semantic layer can (1) find the measure names a derived expression refers to and substitute them
 * without ever touching the inside of a string literal or a comment, (2) recognise a `sql:` that is a
 * plain column, and (3) refuse a second statement (`;`) inside a model's SQL.
 */

/** What a token is: literals, identifiers (`word`, or `quoted`), punctuation, or what carries no meaning. */
export type SqlTokenKind = 'space' | 'comment' | 'string' | 'quoted' | 'number' | 'word' | 'punct';

/** One token, with its exact text so that tokens join back into the original SQL. */
export interface SqlToken {
  kind: SqlTokenKind;
  text: string;
  /** Offset of the token in the source text. */
  start: number;
}

const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_$]/;
const DIGIT = /[0-9]/;

/**
 * Splits SQL text into tokens. Unterminated strings, quoted identifiers and block comments run to the
 * end of the text (the caller decides whether that is an error through {@link unterminated}).
 */
export function tokenizeSql(text: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = 0;
  while (i < text.length) {
    const start = i;
    const c = text[i];
    let kind: SqlTokenKind;
    if (/\s/.test(c)) {
      while (i < text.length && /\s/.test(text[i])) i++;
      kind = 'space';
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      kind = 'comment';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      kind = 'comment';
    } else if (c === "'" || c === '"') {
      // Both quote styles escape their quote by doubling it (ANSI; PostgreSQL, DuckDB and Redshift agree).
      i++;
      while (i < text.length) {
        if (text[i] === c) {
          if (text[i + 1] === c) i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      kind = c === "'" ? 'string' : 'quoted';
    } else if (DIGIT.test(c) || (c === '.' && DIGIT.test(text[i + 1] ?? ''))) {
      while (i < text.length && /[0-9.eE]/.test(text[i])) i++;
      kind = 'number';
    } else if (WORD_START.test(c)) {
      while (i < text.length && WORD_PART.test(text[i])) i++;
      kind = 'word';
    } else {
      i += c === ':' && text[i + 1] === ':' ? 2 : 1;
      kind = 'punct';
    }
    tokens.push({ kind, text: text.slice(start, i), start });
  }
  return tokens;
}

/** True when a string literal, quoted identifier or block comment is not closed. */
export function unterminated(token: SqlToken): boolean {
  const t = token.text;
  if (token.kind === 'string' || token.kind === 'quoted') {
    const q = t[0];
    if (t.length < 2 || t[t.length - 1] !== q) return true;
    // An even run of trailing quotes after the opening one means the last quote is escaped.
    let run = 0;
    for (let k = t.length - 1; k > 0 && t[k] === q; k--) run++;
    return run % 2 === 0;
  }
  return token.kind === 'comment' && t.startsWith('/*') && !t.endsWith('*/');
}

/** Tokens that carry meaning (no whitespace, no comments). */
export function significant(tokens: readonly SqlToken[]): SqlToken[] {
  return tokens.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

/** `sql:` that is a bare lower-case column name, which the planner quotes and `checkModelColumns` can verify. */
export function isPlainColumn(sql: string): boolean {
  return /^[a-z_][a-z0-9_]*$/.test(sql.trim()) && !LITERAL_WORDS.has(sql.trim());
}

const LITERAL_WORDS = new Set(['null', 'true', 'false']);

/** True when the SQL has a `;` outside literals and comments, i.e. could hold more than one statement. */
export function hasStatementSeparator(sql: string): boolean {
  return tokenizeSql(sql).some((t) => t.kind === 'punct' && t.text === ';');
}

/** First problem that makes the SQL text unsafe to embed (unterminated literal or a `;`), or undefined. */
export function embeddingProblem(sql: string): string | undefined {
  const tokens = tokenizeSql(sql);
  if (tokens.some(unterminated)) return 'has an unterminated string, quoted identifier or comment';
  if (tokens.some((t) => t.kind === 'punct' && t.text === ';')) return 'must be one expression or statement, without ";"';
  return undefined;
}

/**
 * The SQL with its comments replaced by a space: the planner embeds model SQL inline, where a `--`
 * comment would swallow whatever follows it on the same line.
 */
export function withoutComments(sql: string): string {
  return tokenizeSql(sql)
    .map((t) => (t.kind === 'comment' ? ' ' : t.text))
    .join('')
    .trim();
}

/**
 * Qualified names that follow FROM or JOIN in a SQL select: the tables a `sql:` model reads, used for
 * cache invalidation. A heuristic by design; it never feeds SQL text.
 */
export function referencedTables(sql: string): string[] {
  const toks = significant(tokenizeSql(sql));
  const found = new Set<string>();
  for (let k = 0; k < toks.length - 1; k++) {
    const w = toks[k].text.toLowerCase();
    if (toks[k].kind !== 'word' || (w !== 'from' && w !== 'join')) continue;
    const parts: string[] = [];
    let j = k + 1;
    while (j < toks.length && (toks[j].kind === 'word' || toks[j].kind === 'quoted')) {
      const t = toks[j];
      parts.push(t.kind === 'quoted' ? t.text.slice(1, -1).replace(/""/g, '"') : t.text.toLowerCase());
      if (toks[j + 1]?.text === '.') j += 2;
      else break;
    }
    if (parts.length > 0) found.add(parts.join('.'));
  }
  return [...found];
}

/** Aggregate functions of PostgreSQL, DuckDB and Redshift that a per-row expression must not call. */
const AGGREGATES = new Set([
  'sum', 'count', 'avg', 'min', 'max', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp', 'array_agg',
  'string_agg', 'listagg', 'median', 'percentile_cont', 'percentile_disc', 'bool_or', 'bool_and', 'any_value', 'approximate',
]);

/** The first aggregate function the SQL calls, if any (e.g. `sum` in `sum(x) / 2`). */
export function aggregateCall(sql: string): string | undefined {
  const toks = significant(tokenizeSql(sql));
  for (let k = 0; k < toks.length - 1; k++) {
    const t = toks[k];
    if (t.kind === 'word' && AGGREGATES.has(t.text.toLowerCase()) && toks[k + 1].text === '(' && toks[k - 1]?.text !== '.') return t.text;
  }
  return undefined;
}

/** True when the SQL reads as a query (starts with SELECT or WITH). */
export function isSelect(sql: string): boolean {
  const first = significant(tokenizeSql(sql))[0];
  return first?.kind === 'word' && ['select', 'with'].includes(first.text.toLowerCase());
}
