import { UsageError } from "./errors.js";
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

export function rulesCommand(ids: readonly string[], opts: { json?: boolean }): void {
  // an id, or a prefix ("capset" is every capset.* rule); an unknown one is bad input
  const chosen = ids.length ? RULES.filter((r) => ids.some((id) => r.id === id || r.id.startsWith(`${id}.`))) : RULES;
  for (const id of ids)
    if (!RULES.some((r) => r.id === id || r.id.startsWith(`${id}.`)))
      throw new UsageError(`no rule ${JSON.stringify(id)} (capgate rules lists them)`);
  if (opts.json) {
    process.stdout.write(
      JSON.stringify(
        chosen.map(({ id, errno, kernel, summary }) => ({ id, errno, kernel, summary })),
        null,
        2,
      ) + "\n",
    );
    return;
  }
  const rows = [[style.dim("rule"), style.dim("errno"), style.dim("kernel"), style.dim("summary")]];
  for (const r of chosen) rows.push([r.id, r.errno ?? "—", r.kernel, r.summary]);
  process.stdout.write(table(rows) + "\n");
}
