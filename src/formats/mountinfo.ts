// /proc/self/mountinfo: which mount a path is on, and whether that mount is nosuid (the per-mount
// MNT_NOSUID flag that mnt_may_suid checks; a bind mount has its own).
export interface MountEntry {
  readonly mountPoint: string;
  readonly options: readonly string[];
}

/** Octal escapes of mountinfo (\040 for a space, ...). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mounts, in the file's order (a later mount on the same point covers an earlier one). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 6) continue;
    out.push({ mountPoint: unescape(f[4]!), options: f[5]!.split(",") });
  }
  return out;
}

/** The mount an absolute, resolved path is on: the last one whose mount point is its longest prefix. */
export function mountOf(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const p = m.mountPoint;
    const under = p === "/" || path === p || path.startsWith(p.endsWith("/") ? p : `${p}/`);
    if (under && (!best || p.length >= best.mountPoint.length)) best = m;
  }
  return best;
}
