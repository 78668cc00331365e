// Builds the static playground into dist/playground/: one bundle (esbuild) of playground/main.ts
// and the engine modules it shares with the Node API, with the wasm built in; index.html; the
// examples; and rules.html (every rule id as an anchor, from the catalog, like docs/RULES.md).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { RULES } from "../src/rules/catalog.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const out = `${root}dist/playground/`;

export async function buildPlayground(): Promise<{ bundleBytes: number }> {
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [`${root}playground/main.ts`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    outfile: `${out}app.js`,
    loader: { ".wasm": "binary" },
    logLevel: "error",
    plugins: [
      {
        // the one module that differs: how the engine's bytes arrive
        name: "wasm-bytes",
        setup(b) {
          b.onResolve({ filter: /\/wasm-bytes\.js$/ }, () => ({ path: `${root}playground/wasm-bytes.ts` }));
          // the engine's TypeScript sources are imported with .js suffixes (nodenext)
          b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
            // resolved to one absolute path: "./x" and "../dir/x" must be one module, not two copies
            const ts = resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts"));
            try {
              statSync(ts);
              return { path: ts };
            } catch {
              return undefined;
            }
          });
        },
      },
    ],
  });
  copyFileSync(`${root}playground/index.html`, `${out}index.html`);
  const examples = Object.fromEntries(
    readdirSync(`${root}examples`)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => [f, readFileSync(`${root}examples/${f}`, "utf8")]),
  );
  writeFileSync(`${out}examples.json`, JSON.stringify(examples));
  const esc = (s: string) =>
    s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
  writeFileSync(
    `${out}rules.html`,
    `<!doctype html><meta charset="utf-8"><title>capgate rules</title><style>body{font:14px system-ui;margin:16px}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}:target{background:#fffbe6}</style><h1>capgate rules</h1><table><tr><th>id</th><th>errno</th><th>kernel</th><th>what it says</th></tr>${RULES.map((r) => `<tr id="${esc(r.id)}"><td><code>${esc(r.id)}</code></td><td>${r.errno ?? "—"}</td><td>${esc(r.kernel)}</td><td>${esc(r.summary)}</td></tr>`).join("")}</table>\n`,
  );
  return { bundleBytes: statSync(`${out}app.js`).size };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { bundleBytes } = await buildPlayground();
  console.log(`dist/playground/app.js: ${(bundleBytes / 1024).toFixed(1)} KiB`);
}
