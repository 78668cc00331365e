// capgate file: file capabilities, like getcap and setcap (through the shim).
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CapSet } from "../capabilities/set.js";
import { kernelProfile } from "../kernel/profiles.js";
import type { FileCaps } from "../ops.js";
import { formatCapText, parseCapText } from "../formats/libcap-text.js";
import { FormatError } from "../formats/errors.js";
import { UsageError } from "./errors.js";
import { terminalSafe, errorLine } from "./escape.js";

/** File capabilities as libcap shows them: effective is fP ∪ fI when the effective bit is set. */
export function fileCapsText(caps: FileCaps): string {
  const effective = caps.effective ? caps.permitted.union(caps.inheritable) : CapSet.EMPTY;
  return formatCapText({ permitted: caps.permitted, inheritable: caps.inheritable, effective });
}

/** Every path below the given ones, depth first, without following symbolic links (getcap -r). */
function* walk(roots: readonly string[], cannot: (message: string) => void): Generator<string> {
  const stack = [...roots].reverse();
  while (stack.length) {
    const path = stack.pop()!;
    yield path;
    let entries;
    try {
      if (!lstatSync(path).isDirectory()) continue;
      entries = readdirSync(path, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        cannot(`${path}: cannot list: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      continue;
    }
    for (const d of entries.reverse()) stack.push(join(path, d.name));
  }
}

export async function fileCommand(
  paths: string[],
  opts: { set?: string; remove?: boolean; json?: boolean; recursive?: boolean },
): Promise<number> {
  if (opts.recursive && (opts.set !== undefined || opts.remove))
    throw new UsageError("--recursive reads only; --set and --remove take the files themselves");
  const { inspectFileCaps, writeFileCaps, FileCapsError } = await import("../../shim/files.js");
  if (opts.set !== undefined && opts.remove) throw new UsageError("give --set or --remove, not both");
  if (opts.set !== undefined || opts.remove) {
    let caps: FileCaps | null = null;
    if (opts.set !== undefined) {
      let t;
      // "-" reads the text from standard input, as setcap - does
      const text = opts.set === "-" ? readFileSync(0, "utf8").trim() : opts.set;
      try {
        t = parseCapText(text, kernelProfile());
      } catch (e) {
        if (e instanceof FormatError) throw new UsageError(`--set: ${e.message}`);
        throw e;
      }
      // A file has one effective bit: it applies to every permitted and inheritable capability.
      const all = t.permitted.union(t.inheritable);
      if (!t.effective.isEmpty && !t.effective.equals(all)) {
        throw new UsageError(
          `--set: a file has a single effective bit, so "e" must cover all of its capabilities (${formatCapText({ ...t, effective: all })}) or none`,
        );
      }
      caps = { permitted: t.permitted, inheritable: t.inheritable, effective: !t.effective.isEmpty, version: 2 };
    }
    writeFileCaps(paths.map((path) => ({ path, caps }))); // FileCapsError: exit 2 for a bad path, 1 for a refusal
  }
  // Like getcap: every path that can be read is shown; one line per path that cannot.
  let failed = false;
  const rows = [];
  // Paths that cannot be read: named together in one line at the end (exit 2), the rest shown.
  const problems: string[] = [];
  const cannot = (message: string) => {
    if (!problems.includes(message)) problems.push(message);
    failed = true;
  };
  for (const p of opts.recursive ? walk(paths, cannot) : paths) {
    let entry;
    try {
      entry = inspectFileCaps(p);
    } catch (e) {
      if (!(e instanceof FileCapsError)) throw e;
      cannot(e.message);
      continue;
    }
    // getcap -r lists only what has capabilities
    if (opts.recursive && !entry.caps) continue;
    const caps = entry.caps;
    rows.push({
      path: p,
      type: entry.kind,
      caps: caps ? fileCapsText(caps) : null,
      version: caps?.version ?? null,
      rootid: caps?.rootid ?? null,
      permitted: caps?.permitted.toHex() ?? null,
      inheritable: caps?.inheritable.toHex() ?? null,
      effective: caps?.effective ?? null,
    });
  }
  if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
  else
    for (const r of rows)
      if (r.caps !== null)
        process.stdout.write(`${terminalSafe(r.path)} ${r.caps}${r.version === 3 ? ` [rootid=${r.rootid}]` : ""}\n`);
  if (problems.length) process.stderr.write(`capgate: ${errorLine(problems.join("; "))}\n`);
  return failed ? 2 : 0;
}
