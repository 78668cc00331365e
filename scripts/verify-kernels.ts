// npm run verify:kernels: every kernel the Debian archive serves, proven under qemu. Finds the
// newest cloud image of each MAJOR.MINOR in the archive's suites (verify/kernels.ts: a private
// apt configuration under $CAPGATE_KERNELS, the machine's own never changed), boots each with
// the differential runner as init, runs the same seeded campaign there (verify/campaign.ts)
// and prints a table. Exit 1 on any divergence; any other way a kernel could not be proven
// (no qemu, no archive, an image that cannot be had or booted, a harness fault) is a message
// and a non-zero exit, never a pass.
//
//   npm run verify:kernels [-- --only 6.16,7.3] [--trials N] [--seed S]
//   CAPGATE_KERNELS (cache, default ~/.cache/capgate/kernels), CAPGATE_BOOT_TRIALS (default 2000), CAPGATE_SEED
import { homedir } from "node:os";
import { join } from "node:path";
import { closeSync } from "node:fs";
import { parseArgs } from "node:util";
import { kernelProfile, releaseProfile } from "../src/kernel/profiles.js";
import { abandonBoots, bootUnavailable, bootedKernel, openKernelImage, BootFailure } from "../verify/boot.js";
import { runFuzzCampaign, describeDivergence, describeHarnessFault } from "../verify/campaign.js";
import {
  ArchiveError,
  archiveUris,
  fetchImage,
  findImages,
  machineSources,
  privateApt,
  updateLists,
  type ImagePackage,
} from "../verify/kernels.js";
import { ensureTrustedDirectory } from "../shim/trust.js";

const { values } = parseArgs({
  options: { only: { type: "string" }, trials: { type: "string" }, seed: { type: "string" } },
});
const CACHE = process.env["CAPGATE_KERNELS"] || join(homedir(), ".cache", "capgate", "kernels");
const TRIALS = Number(values.trials ?? process.env["CAPGATE_BOOT_TRIALS"] ?? 2000);
const SEED = Number(values.seed ?? process.env["CAPGATE_SEED"] ?? 20261128);
/** The oldest series proven: the oldest Debian still serves (bullseye's 5.10). */
const OLDEST = "5.10";

function fail(message: string, status = 1): never {
  process.stderr.write(`verify:kernels: ${message}\n`);
  process.exit(status);
}

// interrupted (Ctrl-C, CI's timeout): the guest killed and its private files removed, as verify does
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
  process.on(signal, () => {
    abandonBoots();
    process.stderr.write(`\nverify:kernels: interrupted (${signal}); the guest and its files are gone\n`);
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
  });

if (!Number.isInteger(TRIALS) || TRIALS < 1) fail("--trials (or CAPGATE_BOOT_TRIALS) must be a positive integer", 2);
if (!Number.isSafeInteger(SEED)) fail("--seed (or CAPGATE_SEED) must be an integer", 2);
const only = values.only
  ?.split(",")
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of only ?? [])
  if (!/^\d+\.\d+$/.test(s)) fail(`--only takes MAJOR.MINOR series (6.16,7.3), got ${JSON.stringify(s)}`, 2);

const why = bootUnavailable();
if (why) fail(`${why}; nothing was verified`);
const untrusted = ensureTrustedDirectory(CACHE);
if (untrusted) fail(`the kernel cache ${CACHE} cannot be used: ${untrusted}`);

const uris = archiveUris(machineSources());
if (!uris)
  fail("this machine's apt sources name no Debian archive, so no kernel image can be fetched; nothing was verified");
let images: Map<string, ImagePackage[]>;
try {
  const apt = privateApt(join(CACHE, "apt"), uris);
  process.stderr.write(`verify:kernels: reading the archive's package lists (${uris.archive})\n`);
  updateLists(apt);
  images = findImages(apt);
  const wanted = [...images.keys()].filter((s) => compareSeries(s, OLDEST) >= 0 && (!only || only.includes(s)));
  for (const s of only ?? []) if (!images.has(s)) fail(`the archive serves no ${s} cloud image; nothing was verified`);
  if (!wanted.length) fail("the archive's lists hold no kernel image; nothing was verified");
  const chosen: Array<{ series: string; pkg: ImagePackage; image: string }> = [];
  for (const series of wanted) {
    let last = "";
    for (const pkg of images.get(series)!) {
      try {
        chosen.push({ series, pkg, image: fetchImage(apt, join(CACHE), pkg) });
        last = "";
        break;
      } catch (e) {
        last = (e as Error).message;
      }
    }
    if (last) fail(`no ${series} image could be had: ${last}`);
  }
  await main(chosen);
} catch (e) {
  if (e instanceof ArchiveError) fail(`${e.message}; nothing was verified`);
  throw e;
}

function compareSeries(a: string, b: string): number {
  const [am, an] = a.split(".").map(Number) as [number, number];
  const [bm, bn] = b.split(".").map(Number) as [number, number];
  return am - bm || an - bn;
}

async function main(chosen: ReadonlyArray<{ series: string; pkg: ImagePackage; image: string }>): Promise<void> {
  const rows: string[][] = [["kernel", "release", "profile", "trials", "steps", "divergences", "seconds"]];
  let divergent = 0,
    faults = 0;
  for (const { series, image: path } of chosen) {
    const image = openKernelImage(path);
    const profile = (image.release && releaseProfile(image.release)) || kernelProfile(series);
    const side = bootedKernel(image);
    const start = Date.now();
    try {
      const r = await runFuzzCampaign({ profile, trials: TRIALS, seed: SEED, side });
      divergent += r.divergences.length;
      faults += r.harnessFaults.length + r.setupFailures.length;
      rows.push([
        series,
        r.release ?? "?",
        `${profile.version}${profile.newerThanProfile ? " (newest; newer kernel)" : ""}`,
        String(r.trials),
        String(r.steps),
        `${r.divergences.length}${r.harnessFaults.length ? ` (+${r.harnessFaults.length} harness faults)` : ""}${r.setupFailures.length ? ` (+${r.setupFailures.length} setup failures)` : ""}`,
        ((Date.now() - start) / 1000).toFixed(1),
      ]);
      if (r.divergences[0]) process.stderr.write(describeDivergence(r.divergences[0], profile) + "\n");
      if (r.harnessFaults[0]) process.stderr.write(describeHarnessFault(r.harnessFaults[0], profile) + "\n");
    } catch (e) {
      if (!(e instanceof BootFailure)) throw e;
      faults++;
      rows.push([
        series,
        image.release ?? "?",
        profile.version,
        "-",
        "-",
        "boot failed",
        ((Date.now() - start) / 1000).toFixed(1),
      ]);
      process.stderr.write(`verify:kernels: ${series}: ${e.message}\n`);
    } finally {
      closeSync(image.fd);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows)
    process.stdout.write(
      r
        .map((x, c) => x.padEnd(widths[c]!))
        .join("  ")
        .trimEnd() + "\n",
    );
  process.stdout.write(`seed ${SEED}; ${TRIALS} trials per kernel; images cached in ${CACHE}\n`);
  if (divergent) process.exit(1);
  if (faults) fail(`${faults} kernel(s) or trials could not be proven (see above)`);
}
