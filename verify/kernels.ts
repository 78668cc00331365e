// The kernels the Debian archive serves, found and fetched for `npm run verify:kernels`: a
// private apt configuration (its own sources list, package lists and cache, under
// $CAPGATE_KERNELS) whose archive addresses are read from this machine's own apt sources, so
// no archive host is written here and the machine's apt configuration is never changed. From
// each MAJOR.MINOR's newest cloud image package only the vmlinuz is kept.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The suites searched: Debian 11 to unstable and experimental, with their updates, security and backports. */
export const SUITES = {
  archive: [
    "bullseye",
    "bookworm",
    "bookworm-updates",
    "bookworm-backports",
    "trixie",
    "trixie-updates",
    "trixie-backports",
    "sid",
    "experimental",
  ],
  security: ["bullseye-security", "bookworm-security", "trixie-security"],
} as const;

/** A Debian release's codename or suite, which tells the main archive from the security one. */
const DEBIAN_SUITE = /^(buster|bullseye|bookworm|trixie|forky|duke|sid|experimental|stable|testing|unstable|oldstable)/;

export interface ArchiveUris {
  /** The main archive (its dists/ hold bookworm, sid, ...). */
  readonly archive: string;
  /** The security archive (dists/bookworm-security, ...), when the machine has one. */
  readonly security: string | null;
}

/**
 * The Debian archive addresses this machine's apt uses, from its one-line sources
 * (`deb URI SUITE COMPONENTS`) and deb822 `.sources` files. null when none names a Debian suite.
 */
export function archiveUris(
  files: ReadonlyArray<{ readonly name: string; readonly text: string }>,
): ArchiveUris | null {
  let archive: string | null = null,
    security: string | null = null;
  const note = (uri: string, suites: readonly string[]) => {
    for (const suite of suites) {
      if (!DEBIAN_SUITE.test(suite)) continue;
      if (suite.endsWith("-security") || suite.endsWith("/updates")) security ??= uri;
      else archive ??= uri;
    }
  };
  for (const f of files) {
    if (f.name.endsWith(".sources")) {
      for (const stanza of f.text.split(/\n\s*\n/)) {
        const field = (k: string) =>
          new RegExp(`^${k}:\\s*(.*)$`, "mi").exec(stanza)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
        if (!field("Types").includes("deb")) continue;
        if (/^Enabled:\s*no/im.test(stanza)) continue;
        for (const uri of field("URIs")) note(uri.replace(/\/$/, ""), field("Suites"));
      }
    } else {
      for (const line of f.text.split("\n")) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m) note((m[1] ?? "").replace(/\/$/, ""), [m[2] ?? ""]); // (both groups always match)
      }
    }
  }
  return archive ? { archive, security } : null;
}

/** The machine's apt source files (/etc/apt/sources.list and sources.list.d), read, never changed. */
export function machineSources(root = "/etc/apt"): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  const read = (path: string) => {
    try {
      out.push({ name: path, text: readFileSync(path, "utf8") });
    } catch {
      /* absent */
    }
  };
  read(join(root, "sources.list"));
  try {
    for (const f of readdirSync(join(root, "sources.list.d")).sort())
      if (f.endsWith(".list") || f.endsWith(".sources")) read(join(root, "sources.list.d", f));
  } catch {
    /* no directory */
  }
  return out;
}

// Debian version comparison (dpkg's verrevcmp): epoch, upstream version, revision; in each, runs
// of non-digits compare by a table where ~ sorts before everything (even the end), letters
// before other characters, and runs of digits compare as numbers.
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === "~") return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}
function verrevcmp(a: string, b: string): number {
  let i = 0,
    j = 0;
  while (i < a.length || j < b.length) {
    let first = 0;
    while ((i < a.length && !/[0-9]/.test(a.charAt(i))) || (j < b.length && !/[0-9]/.test(b.charAt(j)))) {
      const ac = order(a[i]),
        bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (i < a.length && /[0-9]/.test(a.charAt(i)) && j < b.length && /[0-9]/.test(b.charAt(j))) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a.charAt(i))) return 1;
    if (j < b.length && /[0-9]/.test(b.charAt(j))) return -1;
    if (first) return first;
  }
  return 0;
}
/** Compares two Debian versions as dpkg does: negative, 0 or positive. */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(":");
    const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon >= 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf("-");
    return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : "" };
  };
  const x = split(a),
    y = split(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
}

/** A kernel image package of the archive. */
export interface ImagePackage {
  readonly name: string;
  readonly version: string;
  /** "MAJOR.MINOR" */
  readonly series: string;
}

/** Cloud image packages: linux-image-RELEASE-cloud-amd64(-unsigned) up to Debian 12, linux-binary-RELEASE-cloud-amd64 from 13. */
const IMAGE_PACKAGE = /^linux-(?:image|binary)-(\d+)\.(\d+)[^\s]*-cloud-amd64(?:-unsigned)?$/;

/** The image packages of apt-cache show's records (Package and Version fields). */
export function imagePackages(records: string): ImagePackage[] {
  const out: ImagePackage[] = [];
  for (const stanza of records.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
    const m = name ? IMAGE_PACKAGE.exec(name) : null;
    if (name && version && m) out.push({ name, version, series: `${m[1]}.${m[2]}` });
  }
  return out;
}

/** Per MAJOR.MINOR, its image packages newest first (a download that fails falls back to the next). */
export function newestBySeries(packages: readonly ImagePackage[]): Map<string, ImagePackage[]> {
  const by = new Map<string, ImagePackage[]>();
  const seen = new Set<string>();
  for (const p of packages) {
    const key = `${p.name}=${p.version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    by.set(p.series, [...(by.get(p.series) ?? []), p]);
  }
  for (const list of by.values())
    list.sort(
      (a, b) =>
        compareDebianVersions(b.version, a.version) ||
        // of one version, the unsigned image first (the same kernel, without a boot signature)
        Number(b.name.endsWith("-unsigned")) - Number(a.name.endsWith("-unsigned")),
    );
  return new Map(
    [...by.entries()].sort(([a], [b]) => {
      const [am, an] = a.split(".").map(Number) as [number, number];
      const [bm, bn] = b.split(".").map(Number) as [number, number];
      return am - bm || an - bn;
    }),
  );
}

/** Why a step of the archive work failed: the one line the script prints (never a pass). */
export class ArchiveError extends Error {
  override name = "ArchiveError";
}

/** The private apt configuration under `dir`, as apt-get and apt-cache options. */
export function privateApt(dir: string, uris: ArchiveUris): string[] {
  const lists = join(dir, "lists"),
    cache = join(dir, "cache");
  mkdirSync(join(lists, "partial"), { recursive: true });
  mkdirSync(join(cache, "archives", "partial"), { recursive: true });
  const sources = [
    ...SUITES.archive.map((s) => `deb ${uris.archive} ${s} main`),
    ...(uris.security ? SUITES.security.map((s) => `deb ${uris.security} ${s} main`) : []),
  ];
  writeFileSync(join(dir, "sources.list"), sources.join("\n") + "\n");
  return [
    ...["-o", `Dir::Etc::SourceList=${join(dir, "sources.list")}`, "-o", "Dir::Etc::SourceParts=/dev/null"],
    ...["-o", `Dir::State::Lists=${lists}`, "-o", `Dir::Cache=${cache}`, "-o", "Acquire::Languages=none"],
    ...["-o", "APT::Get::List-Cleanup=0"],
  ];
}

function run(cmd: string, args: readonly string[], cwd?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, LC_ALL: "C" } });
  return { ok: !r.error && r.status === 0, out: r.stdout ?? "", err: r.error?.message ?? r.stderr ?? "" };
}

/** apt-get update with the private configuration; the lists of suites that do not exist are left out, not fatal. */
export function updateLists(apt: readonly string[]): void {
  const r = run("apt-get", [...apt, "-q", "update"]);
  if (!r.ok && !/Reading package lists/.test(r.out))
    throw new ArchiveError(`apt-get update failed: ${lastLine(r.err)}`);
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .filter((l) => l.trim())
      .pop() ?? "no output"
  ).slice(0, 300);
}

/** Every cloud image package the lists hold, newest first per MAJOR.MINOR. */
export function findImages(apt: readonly string[]): Map<string, ImagePackage[]> {
  const names = run("apt-cache", [...apt, "--names-only", "search", "^linux-(image|binary)-[0-9].*-cloud-amd64"]);
  if (!names.ok) throw new ArchiveError(`apt-cache search failed: ${lastLine(names.err)}`);
  const list = names.out
    .split("\n")
    .map((l) => l.split(" ", 1)[0] ?? "")
    .filter((n) => IMAGE_PACKAGE.test(n));
  if (!list.length) return new Map();
  const shown = run("apt-cache", [...apt, "show", ...list]);
  if (!shown.ok && !shown.out) throw new ArchiveError(`apt-cache show failed: ${lastLine(shown.err)}`);
  return newestBySeries(imagePackages(shown.out));
}

/**
 * The vmlinuz of `pkg`, downloaded and unpacked on first use into `dir`/images (only the
 * image is kept: the package's modules are not needed by a kernel booted with an initramfs of
 * its own). Returns the image's path; throws ArchiveError.
 */
export function fetchImage(apt: readonly string[], dir: string, pkg: ImagePackage): string {
  const home = join(dir, "images", `${pkg.name}_${pkg.version.replace(/[^A-Za-z0-9.+~-]/g, "_")}`);
  const image = join(home, "vmlinuz");
  if (existsSync(image)) return image;
  const work = join(home, "download");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const dl = run("apt-get", [...apt, "-q", "download", `${pkg.name}=${pkg.version}`], work);
  const deb = readdirSync(work).find((f) => f.endsWith(".deb"));
  if (!dl.ok || !deb) throw new ArchiveError(`cannot download ${pkg.name} ${pkg.version}: ${lastLine(dl.err)}`);
  const listing = run("dpkg-deb", ["-c", join(work, deb)]);
  const member = listing.out
    .split("\n")
    .map((l) => l.split(/\s+/).pop() ?? "")
    .find((p) => /^\.\/(boot\/vmlinuz-[^/]+|usr\/lib\/modules\/[^/]+\/vmlinuz)$/.test(p));
  if (!member) throw new ArchiveError(`${deb} holds no vmlinuz (boot/ or usr/lib/modules/)`);
  const tar = spawnSync(
    "sh",
    ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - "$2" > "$3"', "sh", join(work, deb), member, `${image}.part`],
    {
      encoding: "utf8",
    },
  );
  if (tar.status !== 0) throw new ArchiveError(`cannot unpack ${member} from ${deb}: ${lastLine(tar.stderr)}`);
  renameSync(`${image}.part`, image);
  rmSync(work, { recursive: true, force: true });
  return image;
}
