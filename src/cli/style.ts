// Terminal styling: color on a TTY, or wherever FORCE_COLOR asks for it (a CI log that renders
// ANSI); never when NO_COLOR is set (https://no-color.org), which wins over FORCE_COLOR.
const force = process.env["FORCE_COLOR"];
const forced = force !== undefined && force !== "0" && force !== "false";
const enabled =
  !("NO_COLOR" in process.env) && (forced || (process.stdout.isTTY === true && process.env["TERM"] !== "dumb"));
const wrap = (code: string) => (s: string) => (enabled ? `\x1b[${code}m${s}\x1b[0m` : s);
export const style = {
  bold: wrap("1"),
  dim: wrap("2"),
  red: wrap("31"),
  green: wrap("32"),
  yellow: wrap("33"),
  cyan: wrap("36"),
};

/** Left-aligned columns that line up, whatever the styling (ANSI codes are not counted). */
export function table(rows: string[][], gap = "  "): string {
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visible(cell));
    });
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - visible(cell))))
        .join(gap)
        .trimEnd(),
    )
    .join("\n");
}
