/**
 * The tokenizer of OData expressions (`$filter`, `$orderby`, `$select`, `$apply`): literals as the
 * OData ABNF writes them, identifiers, punctuation, each with its 1-based position in the option's
 * text so that errors can say where.
 */
import { badRequest } from './errors.js';

export type TokenKind = 'identifier' | 'string' | 'number' | 'date' | 'datetime' | 'lparen' | 'rparen' | 'comma' | 'slash' | 'star' | 'end';

export interface Token {
  kind: TokenKind;
  /** The token's text as written (strings unquoted, `''` undone). */
  text: string;
  /** 1-based character position in the option's value. */
  pos: number;
}

/** `$` starts the system names OData allows inside expressions (`$count`, `$it`). */
const IDENT_START = /[A-Za-z_$]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const DATE = /^\d{4}-\d{2}-\d{2}/;
/** An Edm.DateTimeOffset literal: the offset is required by the ABNF (`Z` or `±hh:mm`). */
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?(?:Z|[+-]\d{2}:\d{2})/i;
const NUMBER = /^-?(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|INF|NaN)/;

/** Longest accepted option text: a filter longer than this is not a question a BI tool asks. */
export const MAX_EXPRESSION_LENGTH = 64 * 1024;

/** Tokens of one option's value; `target` names the option in errors (`$filter`). */
export function tokenize(text: string, target: string): Token[] {
  if (text.length > MAX_EXPRESSION_LENGTH) throw badRequest(target, `the expression is ${text.length} characters long; at most ${MAX_EXPRESSION_LENGTH} are accepted`);
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const pos = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '/' || c === '*') {
      const kind: TokenKind = c === '(' ? 'lparen' : c === ')' ? 'rparen' : c === ',' ? 'comma' : c === '/' ? 'slash' : 'star';
      tokens.push({ kind, text: c, pos });
      i++;
      continue;
    }
    if (c === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw badRequest(target, `at position ${pos}: the string starting here is not closed with a quote (')`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ kind: 'string', text: value, pos });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    if (/[0-9]/.test(c)) {
      const dt = DATETIME.exec(rest);
      if (dt) {
        tokens.push({ kind: 'datetime', text: dt[0], pos });
        i += dt[0].length;
        continue;
      }
      const d = DATE.exec(rest);
      if (d && !/^\d{4}-\d{2}-\d{2}T/i.test(rest)) {
        tokens.push({ kind: 'date', text: d[0], pos });
        i += d[0].length;
        continue;
      }
      if (d) throw badRequest(target, `at position ${pos}: "${rest.slice(0, 25)}" is not a date-time with an offset (2026-01-31T13:45:00Z or …+01:00)`);
    }
    const n = /[0-9-]/.test(c) || /^(INF|NaN)(?![A-Za-z0-9_])/.test(rest) ? NUMBER.exec(rest) : null;
    if (n) {
      let end = n[0].length;
      // OData 3 suffixes (1.5M, 2L, 3d) are tolerated: older clients still write them.
      if (/^\d/.test(n[0].replace('-', '')) && /^[mMdDfFlL](?![A-Za-z0-9_])/.test(rest.slice(end))) end++;
      if (IDENT_PART.test(rest[end] ?? '')) throw badRequest(target, `at position ${pos}: "${(/^[-\w.]+/.exec(rest) ?? [rest])[0]}" is not a number`);
      tokens.push({ kind: 'number', text: n[0], pos });
      i += end;
      continue;
    }
    if (c === '-') throw badRequest(target, `at position ${pos}: arithmetic (-) is not supported; a "-" must start a number`);
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < text.length && IDENT_PART.test(text[j])) j++;
      tokens.push({ kind: 'identifier', text: text.slice(i, j), pos });
      i = j;
      continue;
    }
    throw badRequest(target, `at position ${pos}: unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: 'end', text: '', pos: text.length + 1 });
  return tokens;
}

/** A cursor over tokens with the helpers every parser here uses. */
export class TokenStream {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    readonly target: string,
  ) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
  }
  next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }
  /** True (and consumed) when the next token is the keyword `word` (case-sensitive, as OData says). */
  acceptWord(word: string): boolean {
    const t = this.peek();
    if (t.kind === 'identifier' && t.text === word) {
      this.i++;
      return true;
    }
    return false;
  }
  accept(kind: TokenKind): Token | undefined {
    if (this.peek().kind !== kind) return undefined;
    return this.next();
  }
  expect(kind: TokenKind, what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) throw this.error(t, `expected ${what}, found ${describe(t)}`);
    return this.next();
  }
  expectWord(word: string): Token {
    const t = this.peek();
    if (!(t.kind === 'identifier' && t.text === word)) throw this.error(t, `expected "${word}", found ${describe(t)}`);
    return this.next();
  }
  error(t: Token, message: string) {
    return badRequest(this.target, `at position ${t.pos}: ${message}`);
  }
  expectEnd(): void {
    const t = this.peek();
    if (t.kind !== 'end') throw this.error(t, `unexpected ${describe(t)}`);
  }
}

/** How a token is named in an error message. */
export function describe(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'the end of the expression';
    case 'string':
      return `the string '${t.text}'`;
    case 'identifier':
      return `"${t.text}"`;
    default:
      return `"${t.text}"`;
  }
}
