// The documents lint reads, as one small tree with line numbers: from YAML (anchors, aliases and
// merge keys resolved, as Compose and kubectl resolve them) and from JSON (kubectl -o json),
// which gets its own light parser: the YAML library's full document model costs 40x the file
// in memory on a 10 MB list.
import {
  LineCounter,
  Parser,
  Composer,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type Node as YamlNode,
} from "yaml";
import { LintInputError } from "./errors.js";

export type LNode =
  | { readonly t: "map"; readonly line: number; readonly pairs: ReadonlyArray<readonly [string, LNode]> }
  | { readonly t: "seq"; readonly line: number; readonly items: readonly LNode[] }
  | { readonly t: "scalar"; readonly line: number; readonly value: unknown };

/** Deeper than any manifest; a deeper document is refused rather than walked. */
const MAX_DEPTH = 256;
/**
 * Aliases may expand a document, but only to a small multiple of its size: a "billion laughs"
 * document (aliases of aliases of aliases) is refused after at most this many nodes per byte of
 * the input (and a floor, for small files that merge a few anchors), in milliseconds.
 */
const NODES_PER_BYTE = 10,
  MIN_NODES = 10_000;

/** Every document of a YAML stream, each composed and converted on its own (bounded memory). */
export function* yamlDocuments(text: string): Generator<LNode | null> {
  const lines = new LineCounter();
  const composer = new Composer({ merge: true });
  const convert = (doc: Document.Parsed): LNode | null => {
    const [error] = doc.errors;
    if (error) throw new LintInputError(`not valid YAML: ${error.message.split("\n")[0]}`);
    const limit = Math.max(MIN_NODES, NODES_PER_BYTE * text.length);
    let budget = limit;
    const lineAt = (n: YamlNode) => (n.range ? lines.linePos(n.range[0]).line : 0);
    const walk = (node: unknown, depth: number): LNode => {
      if (--budget < 0)
        throw new LintInputError(
          `its aliases expand it to more than ${limit} nodes, ${NODES_PER_BYTE} per byte of the file (aliases of aliases: a "billion laughs" document?)`,
        );
      if (depth > MAX_DEPTH) throw new LintInputError(`nested deeper than ${MAX_DEPTH} levels`);
      if (isAlias(node)) return walk(node.resolve(doc), depth + 1);
      if (isMap(node)) {
        const own: Array<[string, LNode]> = [];
        const merged: Array<[string, LNode]> = [];
        for (const pair of node.items) {
          const k = isScalar(pair.key) ? pair.key.value : "";
          // with merge on, the library gives a merge key as Symbol("<<")
          const key = typeof k === "symbol" ? (k.description ?? "") : String(k);
          if (key === "<<") {
            // merge keys: the mapping(s) it names, under the keys this mapping does not set itself
            const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
            for (const source of sources) {
              const m = walk(source, depth + 1);
              if (m.t === "map") for (const [k, v] of m.pairs) merged.push([k, v]);
            }
          } else own.push([key, walk(pair.value, depth + 1)]);
        }
        const keys = new Set(own.map(([k]) => k));
        return { t: "map", line: lineAt(node), pairs: [...own, ...merged.filter(([k]) => !keys.has(k))] };
      }
      if (isSeq(node)) return { t: "seq", line: lineAt(node), items: node.items.map((i) => walk(i, depth + 1)) };
      if (isScalar(node)) return { t: "scalar", line: lineAt(node), value: node.value };
      return { t: "scalar", line: 0, value: null };
    };
    return doc.contents === null ? null : walk(doc.contents, 0);
  };
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text))) yield convert(doc);
  for (const doc of composer.end()) yield convert(doc);
}

/** A JSON document as a tree with line numbers (iterative: no recursion depth to exhaust). */
export function jsonDocument(text: string): LNode {
  let pos = 0,
    line = 1;
  // (annotated, so that TypeScript knows the code after a fail() call is unreachable)
  const fail: (what: string) => never = (what) => {
    throw new LintInputError(`not valid JSON: ${what} at line ${line}`);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) return;
      pos++;
    }
  };
  const str = (): string => {
    const start = pos++;
    for (;;) {
      const c = text.charCodeAt(pos++);
      if (c === 34) break;
      if (c === 92) pos++;
      else if (Number.isNaN(c) || c < 32) fail("an unterminated string");
    }
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const scalar = (): unknown => {
    if (text[pos] === '"') return str();
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos, pos + 64));
    if (!m) return fail(`unexpected ${JSON.stringify(text[pos] ?? "end of input")}`);
    pos += m[0].length;
    return JSON.parse(m[0]);
  };
  type Frame = {
    node: { t: "map"; line: number; pairs: Array<[string, LNode]> } | { t: "seq"; line: number; items: LNode[] };
    key: string;
  };
  const stack: Frame[] = [];
  let root: LNode | undefined;
  const open = (): LNode | undefined => {
    ws();
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (stack.length >= MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
      pos++;
      stack.push({ node: c === "{" ? { t: "map", line, pairs: [] } : { t: "seq", line, items: [] }, key: "" });
      return undefined;
    }
    return { t: "scalar", line, value: scalar() };
  };
  const add = (value: LNode) => {
    const top = stack[stack.length - 1];
    if (!top) root = value;
    else if (top.node.t === "map") top.node.pairs.push([top.key, value]);
    else top.node.items.push(value);
  };
  // A value just read (or a container just closed) is added to its parent and needs a comma
  // before the next one; a container just opened does not.
  let value = open();
  for (;;) {
    let needComma = false;
    if (value !== undefined) {
      add(value);
      needComma = true;
    }
    const top = stack[stack.length - 1];
    if (!top) break;
    ws();
    if (text[pos] === (top.node.t === "map" ? "}" : "]")) {
      pos++;
      stack.pop();
      value = top.node;
      continue;
    }
    if (needComma) {
      if (text[pos] !== ",") fail('expected "," or a closing bracket');
      pos++;
    }
    if (top.node.t === "map") {
      ws();
      if (text[pos] !== '"') fail("expected a key");
      top.key = str();
      ws();
      if (text[pos] !== ":") fail('expected ":"');
      pos++;
    }
    value = open();
  }
  ws();
  if (pos < text.length) fail("text after the document");
  return root ?? fail("no document"); // (the loop ends only once the outermost value was added)
}
