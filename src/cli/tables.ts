import { kernelArg } from "./args.js";
import { noteProfile } from "./profile.js";
import { CAPABILITIES } from "../capabilities/table.js";
import { RULES } from "../rules/catalog.js";
import { style, table } from "./style.js";

export function capsCommand(opts: { json?: boolean; kernel?: string }): void {
  const last = opts.kernel ? noteProfile(kernelArg(opts.kernel)).lastCap : CAPABILITIES.length - 1;
  const caps = CAPABILITIES.filter((c) => c.number <= last);
  if (opts.json) {
    process.stdout.write(JSON.stringify(caps, null, 2) + "\n");
    return;
  }
  const rows = [[style.dim("#"), style.dim("name"), style.dim("since"), style.dim("allows")]];
  for (const c of caps) rows.push([String(c.number), c.name, c.since, c.description]);
  process.stdout.write(table(rows) + "\n");
}

export function rulesCommand(opts: { json?: boolean }): void {
  if (opts.json) {
    process.stdout.write(
      JSON.stringify(
        RULES.map(({ id, errno, kernel, summary }) => ({ id, errno, kernel, summary })),
        null,
        2,
      ) + "\n",
    );
    return;
  }
  const rows = [[style.dim("rule"), style.dim("errno"), style.dim("kernel"), style.dim("summary")]];
  for (const r of RULES) rows.push([r.id, r.errno ?? "—", r.kernel, r.summary]);
  process.stdout.write(table(rows) + "\n");
}
