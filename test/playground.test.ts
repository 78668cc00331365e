// The playground in a real browser (Debian's Chromium, driven by puppeteer-core): every example
// loaded by URL renders the rules `capgate simulate` computes; editing the scenario changes the
// table; the state grid has a cell per set and capability; a screenshot is kept. Under CI=true
// it must run (CI installs chromium); elsewhere it skips with the reason when there is none.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseScenario, runScenario } from "../src/scenario/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const browserPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
  existsSync(p),
);
const inCI = process.env["CI"] === "true";
const why = browserPath ? null : "no Chromium (apt-get install chromium)";
const skip = why && !inCI ? why : false;
const encode = (text: string) => Buffer.from(text, "utf8").toString("base64url");
export const OUTPUT = join(process.env["CAPGATE_TEST_OUTPUT"] ?? join(tmpdir(), "capgate-test-output"));

test(
  "the playground renders every example as capgate simulate does, follows edits, and shows the five sets",
  { skip, timeout: 180_000 },
  async () => {
    assert.equal(why, null, `the browser test must run under CI: ${why}`);
    const { default: puppeteer } = await import("puppeteer-core");
    const { servePlayground } = await import("../src/cli/playground.js");
    const server = await servePlayground(0);
    const browser = await puppeteer.launch({
      executablePath: browserPath!,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1400, height: 900 });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      const rulesOnPage = () =>
        page.$$eval("tr[data-step]", (rows) => rows.map((r) => (r as HTMLElement).dataset["rule"]));
      for (const file of readdirSync(join(root, "examples"))
        .filter((f) => f.endsWith(".json"))
        .sort()) {
        const text = readFileSync(join(root, "examples", file), "utf8");
        const expected = runScenario(parseScenario(JSON.parse(text))).steps.map((s) => s.verdict.rule);
        await page.goto("about:blank");
        await page.goto(`${server.url}#s=${encode(text)}`);
        await page.waitForSelector("tr[data-step]");
        assert.deepEqual(await rulesOnPage(), expected, `${file}: the rules on the page are capgate simulate's`);
        const okFlags = await page.$$eval("tr[data-step]", (rows) => rows.map((r) => (r as HTMLElement).dataset["ok"]));
        assert.deepEqual(
          okFlags,
          runScenario(parseScenario(JSON.parse(text))).steps.map((s) => String(s.verdict.ok)),
          `${file}: data-ok`,
        );
      }
      // the state grid: one cell per set and capability of the profile (CAP_LAST_CAP 40 on 6.18)
      const cells = await page.$$eval("td[data-set][data-cap]", (tds) => tds.length);
      assert.equal(cells, 5 * 41);
      // edit the scenario: the table follows
      await page.goto("about:blank");
      await page.goto(server.url);
      await page.waitForSelector("tr[data-step]");
      await page.$eval("#scenario", (t) => {
        (t as HTMLTextAreaElement).value = JSON.stringify({
          state: { uid: 1000, permitted: [], effective: [] },
          steps: [{ op: "prctl", option: "PR_CAPBSET_DROP", arg2: "CAP_CHOWN" }],
        });
        t.dispatchEvent(new Event("input"));
      });
      await page.waitForFunction(() => document.querySelectorAll("tr[data-step]").length === 1);
      assert.deepEqual(await rulesOnPage(), ["bounding.drop-needs-setpcap"]);
      assert.match(await page.$eval("#why", (e) => e.textContent ?? ""), /hint:/);
      assert.match(page.url(), /#s=/, "the scenario is in the link");
      // a step outside the model: said so, and the steps after it are not run
      await page.$eval("#scenario", (t) => {
        (t as HTMLTextAreaElement).value = JSON.stringify({
          steps: [{ op: "prctl", option: 3 }, { op: "capget" }],
        });
        t.dispatchEvent(new Event("input"));
      });
      await page.waitForSelector("tr[data-skipped='true'][data-step='2']");
      assert.deepEqual(
        await page.$eval("tr[data-step='1']", (r) => [
          (r as HTMLElement).dataset["modelled"],
          r.children[2]!.textContent,
          r.children[4]!.firstChild!.textContent,
          r.querySelector(".cell-hint")?.textContent?.startsWith("hint: capgate models"),
        ]),
        [
          "false",
          "not modelled",
          "prctl option 3 is not modelled: its outcome depends on more than the thread's capabilities, ids and securebits",
          true,
        ],
      );
      // a link carries the scenario and the selected step; clicking a row selects it
      const ambient = readFileSync(join(root, "examples/ambient-keep-across-setuid.json"), "utf8");
      await page.goto("about:blank");
      await page.goto(`${server.url}#s=${encode(ambient)}&step=5`);
      await page.waitForSelector("tr.selected[data-step='5']");
      assert.match(await page.$eval("#why", (e) => e.textContent ?? ""), /^5\. prctl PR_CAP_AMBIENT_RAISE CAP_CHOWN/);
      await page.click("tr[data-step='6']");
      await page.waitForSelector("tr.selected[data-step='6']");
      assert.ok(
        await page.$("td.changed[data-set='ambient'][data-cap='10']"),
        "step 6 raised CAP_NET_BIND_SERVICE into ambient: that cell is outlined",
      );
      // issue 24 #2: a bad link says so in the page and leaves it usable; a later link in the
      // same tab works without a reload; &kernel= picks that profile or says why not
      await page.goto("about:blank");
      await page.goto(`${server.url}#s=!!!garbage`);
      await page.waitForSelector("tr[data-step]");
      assert.match(
        await page.$eval("#linkerror", (e) => e.textContent ?? ""),
        /This link's scenario \(#s=…\) cannot be read/,
      );
      await page.evaluate((h) => (location.hash = h), `s=${encode(ambient)}&step=2`);
      await page.waitForSelector("tr.selected[data-step='2']");
      assert.equal(await page.$eval("#linkerror", (e) => e.textContent ?? ""), "", "a good link clears the message");
      assert.match(await page.$eval("#why", (e) => e.textContent ?? ""), /^2\. /);
      await page.goto("about:blank");
      await page.goto(`${server.url}#s=${encode(ambient)}&kernel=6.12`);
      await page.waitForSelector("tr[data-step]");
      assert.match(await page.$eval("#title", (e) => e.textContent ?? ""), /kernel 6\.12,/);
      await page.goto("about:blank");
      await page.goto(`${server.url}#s=${encode(ambient)}&kernel=4.2`);
      await page.waitForSelector("tr[data-step]");
      assert.match(await page.$eval("#title", (e) => e.textContent ?? ""), /kernel 4\.2,/);
      await page.goto("about:blank");
      await page.goto(`${server.url}#s=${encode(ambient)}&kernel=banana`);
      await page.waitForSelector("tr[data-step]");
      assert.match(
        await page.$eval("#linkerror", (e) => e.textContent ?? ""),
        /&kernel=banana: .*the scenario's own kernel is used/,
      );
      // the grid's legend and the capability names on its axis
      const legend = await page.$eval("#legend", (e) => e.textContent ?? "");
      for (const word of [
        "P permitted",
        "E effective",
        "I inheritable",
        "B bounding",
        "A ambient",
        "changed by the selected step",
      ])
        assert.ok(legend.includes(word), `the legend says ${word}`);
      const axis = await page.$$eval("th.capname", (ths) => ths.map((t) => t.textContent));
      assert.equal(axis.length, 41);
      assert.equal(axis[0], "chown 0");
      assert.equal(axis[13], "net_raw 13");
      await page.setViewport({ width: 1400, height: 1000 });
      const first = Number(await page.$eval("body", (b) => (b as HTMLElement).dataset["firstResultMs"]));
      assert.ok(first > 0 && first < 5000, `first result after ${first} ms`);
      mkdirSync(OUTPUT, { recursive: true });
      const shot = join(OUTPUT, "playground.png");
      await page.screenshot({ path: shot });
      assert.ok(statSync(shot).size > 10_000, "a screenshot was taken");
      assert.deepEqual(errors, [], "no error in the page");
    } finally {
      await browser.close();
      server.close();
    }
  },
);
