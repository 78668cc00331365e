import { kernelArg } from "./args.js";
import { noteProfile } from "./profile.js";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { kernelProfile } from "../kernel/profiles.js";
import { lintText, LintInputError, type LintKind, type UnitSource } from "../lint/lint.js";
import { InputError } from "../parse/errors.js";
import { UsageError } from "./errors.js";
import { style } from "./style.js";
import { terminalSafe } from "./escape.js";

export function lintCommand(files: string[], opts: { json?: boolean; kernel?: string; kind?: string }): number {
  if (opts.kind !== undefined && !["kubernetes", "compose", "systemd"].includes(opts.kind))
    throw new UsageError(`--kind must be kubernetes, compose or systemd, got ${JSON.stringify(opts.kind)}`);
  const profile = noteProfile(opts.kernel === undefined ? kernelProfile() : kernelArg(opts.kernel));
  const results = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file === "-" ? 0 : file, "utf8"); // - is standard input (kubectl get pods -o json | capgate lint -)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(file, code === "ENOENT" ? "no such file" : `cannot read (${code})`);
    }
    // a unit's drop-ins (UNIT.d/*.conf beside it), in name order, as systemd reads them
    const dropIns: UnitSource[] = [];
    const dir = `${file}.d`;
    if (file !== "-" && existsSync(dir) && statSync(dir).isDirectory())
      for (const name of readdirSync(dir)
        .filter((n) => n.endsWith(".conf"))
        .sort())
        dropIns.push({ file: join(dir, name), text: readFileSync(join(dir, name), "utf8") });
    try {
      return {
        file,
        ...lintText(file, text, { kernel: profile, dropIns, ...(opts.kind && { kind: opts.kind as LintKind }) }),
      };
    } catch (e) {
      if (e instanceof LintInputError) throw new InputError(file, e.message);
      throw e;
    }
  });
  const count = results.reduce((n, r) => n + r.findings.length, 0);
  if (opts.json) process.stdout.write(JSON.stringify(results, null, 2) + "\n");
  else {
    for (const r of results)
      for (const f of r.findings) {
        const sev = f.severity === "error" ? style.red("error") : style.yellow("warning");
        process.stdout.write(
          `${terminalSafe(f.file ?? r.file)}:${f.line}: ${sev} ${f.rule}: ${terminalSafe(f.message)}\n  ${style.cyan("fix:")} ${terminalSafe(f.fix)}\n`,
        );
      }
    process.stdout.write(
      count
        ? `${count} finding${count === 1 ? "" : "s"}\n`
        : style.green(`no findings (${results.map((r) => `${r.file}: ${r.kind}`).join(", ")})\n`),
    );
  }
  return count ? 1 : 0;
}
