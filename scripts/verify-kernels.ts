// npm run verify:kernels: the profiles proven on the real kernels they name. Fetches Debian's
// kernel images (apt-get download, cached), boots each under qemu with the differential runner
// as init, runs a seeded campaign there and prints a table. Exit 1 on any divergence, and when
// qemu or an image cannot be had (never a silent pass).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { releaseProfile } from "../src/kernel/profiles.js";
import { imageRelease } from "../src/cli/kernel.js";
import { runCampaign, describeDivergence } from "../shim/differential.js";
import { bootUnavailable, runOnBootedKernel } from "../shim/boot.js";
import { trialArb } from "../shim/trials.js";

/** The Debian packages booted, one per profile proven (override: CAPGATE_KERNEL_PACKAGES=a,b). */
const PACKAGES = (
  process.env["CAPGATE_KERNEL_PACKAGES"] ??
  "linux-image-6.1.0-47-cloud-amd64-unsigned,linux-image-6.12.113+deb12-cloud-amd64-unsigned"
)
  .split(",")
  .map((p) => p.trim())
  .filter(Boolean);
const CACHE = process.env["CAPGATE_KERNELS"] ?? join(homedir(), ".cache", "capgate", "kernels");
const TRIALS = Number(process.env["CAPGATE_BOOT_TRIALS"] ?? 2000);
const SEED = Number(process.env["CAPGATE_SEED"] ?? 20261128);

function fail(message: string): never {
  process.stderr.write(`verify:kernels: ${message}\n`);
  process.exit(1);
}

/** The package's vmlinuz, downloaded and unpacked into the cache on first use. */
function kernelImage(pkg: string): string {
  const dir = join(CACHE, pkg);
  const find = () =>
    existsSync(join(dir, "boot")) ? readdirSync(join(dir, "boot")).find((f) => f.startsWith("vmlinuz-")) : undefined;
  let image = find();
  if (!image) {
    mkdirSync(dir, { recursive: true });
    const dl = spawnSync("apt-get", ["download", pkg], { cwd: dir, encoding: "utf8" });
    const deb = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith(".deb")) : undefined;
    if (dl.error || dl.status !== 0 || !deb)
      fail(
        `cannot download ${pkg} (${dl.error?.message ?? dl.stderr.trim().split("\n").pop()}): on Debian 12, apt-get download fetches it from the main archive; or unpack the image yourself into ${dir}/boot/`,
      );
    const x = spawnSync("dpkg-deb", ["-x", join(dir, deb), dir], { encoding: "utf8" });
    if (x.error || x.status !== 0) fail(`cannot unpack ${deb}: ${x.error?.message ?? x.stderr.trim()}`);
    image = find();
    if (!image) fail(`${deb} holds no boot/vmlinuz-*`);
  }
  return join(dir, "boot", image);
}

const why = bootUnavailable();
if (why) fail(`${why}; nothing was verified`);
if (!Number.isInteger(TRIALS) || TRIALS < 1) fail(`CAPGATE_BOOT_TRIALS must be a positive integer`);

const rows: string[][] = [["kernel", "profile", "trials", "steps", "divergences", "time"]];
let bad = 0;
for (const pkg of PACKAGES) {
  const image = kernelImage(pkg);
  // the version the image's own header names, as `capgate verify --boot` reads it
  const named = imageRelease(image);
  const profile = named ? releaseProfile(named) : null;
  if (!profile) fail(`${image}: not a kernel image whose version capgate can read`);
  const trials = fc.sample(trialArb(profile, { uids: true, maxSteps: 12 }), { numRuns: TRIALS, seed: SEED });
  const start = Date.now();
  let release = "?";
  const r = runCampaign(trials, profile, (t) => {
    const b = runOnBootedKernel(image, t);
    release = b.release;
    return b.trials;
  });
  const seconds = ((Date.now() - start) / 1000).toFixed(1);
  const wrong = r.divergences.length + r.setupFailures.length;
  bad += wrong;
  rows.push([
    release,
    profile.version,
    String(r.trials),
    String(r.steps),
    `${r.divergences.length}${r.setupFailures.length ? ` (+${r.setupFailures.length} setup failures)` : ""}`,
    `${seconds} s`,
  ]);
  if (r.divergences[0]) process.stderr.write(describeDivergence(r.divergences[0], profile) + "\n");
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) process.stdout.write(r.map((x, c) => x.padEnd(widths[c]!)).join("  ") + "\n");
process.stdout.write(`seed ${SEED}; ${TRIALS} trials per kernel; images cached in ${CACHE}\n`);
if (bad) process.exit(1);
