// `npm pack` / `npm publish` hooks: the packed package.json leaves out `prepare`, which builds a
// checkout (the engine, the TypeScript, the kernel runner) and means nothing in a tarball that
// ships the build; npm 11 would otherwise warn every installer about an install script.
// `strip` (prepack) saves package.json and removes the script; `restore` (postpack) puts it back.
import { copyFileSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = process.env["CAPGATE_PACK_ROOT"] ?? fileURLToPath(new URL("../../", import.meta.url));
const manifest = `${root}package.json`,
  saved = `${root}package.json.unpacked`;

if (process.argv[2] === "strip") {
  copyFileSync(manifest, saved);
  const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { scripts: Record<string, string> };
  delete pkg.scripts["prepare"];
  writeFileSync(manifest, JSON.stringify(pkg, null, 2) + "\n");
} else if (process.argv[2] === "restore") {
  if (existsSync(saved)) renameSync(saved, manifest);
} else {
  console.error("usage: pack-manifest strip|restore");
  process.exitCode = 2;
}
