// npm run bench:playground: the playground's bundle size and its time to first result on the
// largest bundled example, in Debian's Chromium (headless, served by `capgate playground`'s own
// server); and the README's screenshot, docs/playground.png (ambient-keep-across-setuid.json at
// step 5). The README's playground numbers are what this prints on a quiet machine.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { servePlayground } from "../src/cli/playground.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const LOADS = 15;
const browserPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
  existsSync(p),
);
if (!browserPath) {
  process.stderr.write("bench:playground: no Chromium (apt-get install chromium)\n");
  process.exit(2);
}
const encode = (text: string) => Buffer.from(text, "utf8").toString("base64url");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bundle = readFileSync(`${root}dist/playground/app.js`);
const examples = readdirSync(`${root}examples`)
  .filter((f) => f.endsWith(".json"))
  .map((f) => ({ f, size: statSync(`${root}examples/${f}`).size }))
  .sort((a, b) => b.size - a.size);
const largest = examples[0]!.f;

const { default: puppeteer } = await import("puppeteer-core");
const server = await servePlayground(0);
const browser = await puppeteer.launch({
  executablePath: browserPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const text = readFileSync(`${root}examples/${largest}`, "utf8");
  const times: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    await page.goto("about:blank");
    await page.goto(`${server.url}#s=${encode(text)}`);
    await page.waitForSelector("body[data-first-result-ms]");
    times.push(Number(await page.$eval("body", (b) => (b as HTMLElement).dataset["firstResultMs"])));
  }
  const ambient = readFileSync(`${root}examples/ambient-keep-across-setuid.json`, "utf8");
  await page.goto("about:blank");
  await page.goto(`${server.url}#s=${encode(ambient)}&step=5`);
  await page.waitForSelector("tr.selected[data-step='5']");
  await page.screenshot({ path: `${root}docs/playground.png` });
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  process.stdout.write(
    `playground bundle (dist/playground/app.js, engine included): ${kib(bundle.length)}, ${kib(gzipSync(bundle).length)} gzipped\n` +
      `time to first result, ${largest} by link (navigation to rendered table, median of ${LOADS} loads): ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})\n` +
      `screenshot: docs/playground.png\n`,
  );
} finally {
  await browser.close();
  server.close();
}
