/**
 * Maps a path inside a parsed YAML document (`measures.engagement_rate.numerator`) back to its line,
 * so that every model problem can say where it is.
 */
import { isMap, isSeq, isScalar, type Document, type LineCounter, type Node } from 'yaml';

/** A path inside a document: map keys and sequence indexes. */
export type YamlPath = ReadonlyArray<string | number>;

/** `['measures', 'x', 'numerator']` → `measures.x.numerator`; `['grain', 1]` → `grain[1]`. */
export function formatPath(path: YamlPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

/**
 * The 1-based line of the node at `path` (or of its key when `at` is `key`), falling back to the
 * nearest ancestor that exists: a missing key is reported on the line of the map that lacks it.
 */
export function lineOf(doc: Document, counter: LineCounter, path: YamlPath, at: 'key' | 'value' = 'value'): number | undefined {
  let node: unknown = doc.contents;
  let line = startLine(node, counter);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) return line;
      if (last && at === 'key') return startLine(pair.key, counter) ?? line;
      node = pair.value;
      line = startLine(node, counter) ?? startLine(pair.key, counter) ?? line;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      line = startLine(node, counter) ?? line;
    } else {
      return line;
    }
  }
  return line;
}

function startLine(node: unknown, counter: LineCounter): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}
