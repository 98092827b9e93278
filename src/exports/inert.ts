/**
 * Formula neutralisation (docs/targets.md; OWASP "CSV Injection", ASVS 5 §1.2.10): a text cell that starts with
 * `=`, `+`, `-`, `@`, a tab or a carriage return is one a spreadsheet may run as a formula — when the CSV
 * is opened, or when an XLSX cell is edited and confirmed. Such text gets a leading apostrophe, the
 * prefix Excel and LibreOffice themselves use for "this is text". Only text is touched: numbers stay
 * numbers, so a negative measure is still a negative number.
 */

/** Characters that make a spreadsheet read a cell as a formula (or as a cell break, for tab and CR). */
const TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);

/** True when a spreadsheet would treat this text as something to run. */
export function isFormulaLike(text: string): boolean {
  return text.length > 0 && TRIGGERS.has(text[0]);
}

/** The text made inert: prefixed with `'` when it starts like a formula, else unchanged. */
export function inertText(text: string): string {
  return isFormulaLike(text) ? `'${text}` : text;
}
