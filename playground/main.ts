// The playground: a scenario editor, the step table and the thread's five sets after the selected
// step, all computed in the page by the same engine and codec as the Node API (the bundle only
// swaps how the wasm bytes arrive). The scenario lives in the URL: #s=<base64url of the JSON>,
// optionally &step=N to select a step.
import { parseScenario } from "../src/scenario/parse.js";
import { runScenario, type ScenarioResult } from "../src/scenario/run.js";
import { describeOp, outcomeText } from "../src/formats/describe.js";
import { capabilityName } from "../src/capabilities/table.js";
import { PROFILE_MILESTONES, kernelProfile } from "../src/kernel/profiles.js";
import { securebitNames } from "../src/kernel/constants.js";
import { SET_NAMES, type ThreadState } from "../src/state.js";
import { CapgateInputError } from "../src/errors.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const editor = $<HTMLTextAreaElement>("scenario"),
  examplePick = $<HTMLSelectElement>("example"),
  kernelPick = $<HTMLSelectElement>("kernel");
const SET_LABEL: Record<string, string> = {
  permitted: "P",
  effective: "E",
  inheritable: "I",
  bounding: "B",
  ambient: "A",
};

let examples: Record<string, string> = {};
let result: ScenarioResult | null = null;
let selected = 0;

function el(tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** base64url of UTF-8, as the URL carries the scenario. */
function encode(text: string): string {
  const bin = Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join("");
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A link's problem, shown above the editor until the next good link or edit; the page stays usable. */
function linkProblem(text: string): void {
  $("linkerror").textContent = text;
}

/** The scenario a link carries, or null (with the reason shown) when #s= is not base64url of UTF-8 text. */
function linkScenario(b64: string): string | null {
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(b64)) throw new Error("it holds characters base64url does not have");
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(b64.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
    );
  } catch (e) {
    linkProblem(
      `This link's scenario (#s=…) cannot be read: ${e instanceof Error ? e.message : String(e)}. Showing an example instead.`,
    );
    return null;
  }
}

/**
 * &kernel=: a profile version as the picker lists it, or any version kernelProfile takes
 * (6.12, 4.2), added to the picker; anything else is said, and the scenario's own is used.
 */
function linkKernel(v: string | null): string {
  if (v === null || v === "") return "";
  try {
    const profile = kernelProfile(v);
    if (![...kernelPick.options].some((o) => o.value === v))
      kernelPick.append(el("option", { value: v }, `${v} (profile ${profile.version})`));
    return v;
  } catch (e) {
    linkProblem(`&kernel=${v}: ${e instanceof Error ? e.message : String(e)}; the scenario's own kernel is used.`);
    return "";
  }
}

function hashParams(): URLSearchParams {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}

function writeHash(): void {
  const p = new URLSearchParams({ s: encode(editor.value) });
  if (selected) p.set("step", String(selected + 1));
  if (kernelPick.value) p.set("kernel", kernelPick.value);
  history.replaceState(null, "", `#${p.toString()}`);
}

function run(): void {
  const error = $("error");
  error.textContent = "";
  try {
    const doc = JSON.parse(editor.value) as Record<string, unknown>;
    if (kernelPick.value && typeof doc === "object" && doc) doc["kernel"] = kernelPick.value;
    result = runScenario(parseScenario(doc));
  } catch (e) {
    result = null;
    error.textContent =
      e instanceof CapgateInputError || e instanceof SyntaxError ? e.message : `unexpected: ${String(e)}`;
  }
  if (result && selected >= result.steps.length) selected = Math.max(0, result.steps.length - 1);
  render();
}

function render(): void {
  const tbody = $("steps");
  tbody.replaceChildren();
  const r = result;
  $("title").textContent = r
    ? `${r.scenario.description ?? ""} (kernel ${r.scenario.profile.version}, ${r.steps.length} steps)`
    : "";
  if (!r) {
    $("why").replaceChildren();
    $("grid").replaceChildren();
    $("ids").textContent = "";
    return;
  }
  r.steps.forEach((s, i) => {
    const v = s.verdict;
    const tr = el("tr", {
      "data-step": String(i + 1),
      "data-rule": v.rule,
      "data-ok": String(v.ok),
      "data-modelled": String(v.modelled),
    });
    if (i === selected) tr.classList.add("selected");
    tr.append(el("td", {}, String(i + 1)), el("td", { class: "call" }, describeOp(v.op)));
    tr.append(el("td", { class: !v.modelled ? "outside" : v.ok ? "ok" : "fail" }, outcomeText(v)));
    const rule = el("td");
    rule.append(el("a", { href: `rules.html#${v.rule}` }, v.rule));
    // the message, then (smaller) the hint of a refusal and the silent side effects
    const why = el("td", {}, v.message);
    if ((!v.ok || !v.modelled) && v.hint) why.append(el("div", { class: "cell-hint" }, `hint: ${v.hint}`));
    for (const n of v.notes) why.append(el("div", { class: "cell-note" }, `note: ${n.message}`));
    tr.append(rule, why);
    const expect = s.expect ? (s.expect.met ? "met" : `not met: ${s.expect.failures.join("; ")}`) : "";
    tr.append(el("td", { class: s.expect && !s.expect.met ? "unmet" : "" }, expect));
    tr.addEventListener("click", () => {
      selected = i;
      writeHash();
      render();
    });
    tbody.append(tr);
  });
  // the steps after one outside the model: not run, the state they would start from is unknown
  r.notRun.forEach((s, i) => {
    const n = r.steps.length + i + 1;
    const tr = el("tr", { "data-step": String(n), "data-skipped": "true", class: "notrun" });
    tr.append(el("td", {}, String(n)), el("td", { class: "call" }, describeOp(s.op)), el("td", {}, "not run"));
    tr.append(el("td"), el("td", {}, `step ${r.steps.length} is outside the model`), el("td"));
    tbody.append(tr);
  });
  const step = r.steps[selected];
  const why = $("why");
  why.replaceChildren();
  if (step) {
    const v = step.verdict;
    why.append(el("div", {}, `${selected + 1}. ${describeOp(v.op)}: ${v.message}`));
    if (v.hint) why.append(el("div", { class: "hint" }, `hint: ${v.hint}`));
    for (const n of v.notes) why.append(el("div", { class: "note" }, `note: ${n.message}`));
  }
  renderState(
    step ? step.verdict.before : r.scenario.state,
    step ? step.verdict.state : r.scenario.state,
    r.scenario.profile.lastCap,
  );
}

/** The five sets after the selected step as a grid of capability bits; the bits that step changed are outlined. */
function renderState(before: ThreadState, after: ThreadState, lastCap: number): void {
  $("statehead").textContent = `the thread after step ${selected + 1} (outlined: changed by it)`;
  const grid = $("grid");
  grid.replaceChildren();
  const head = el("tr");
  head.append(el("th"));
  // the capabilities' short names on the axis (rotated), with the number
  for (let c = 0; c <= lastCap; c++)
    head.append(
      el(
        "th",
        { class: "capname", "data-cap": String(c), title: capabilityName(c) },
        `${capabilityName(c).replace(/^CAP_/, "").toLowerCase()} ${c}`,
      ),
    );
  grid.append(head);
  for (const set of SET_NAMES) {
    const tr = el("tr");
    tr.append(el("th", { title: set }, `${SET_LABEL[set]} ${set}`));
    for (let c = 0; c <= lastCap; c++) {
      const on = after[set].has(c),
        was = before[set].has(c);
      const td = el("td", {
        "data-set": set,
        "data-cap": String(c),
        title: `${capabilityName(c)}${on ? "" : " (not held)"}`,
      });
      if (on) td.classList.add("on");
      if (on !== was) td.classList.add("changed");
      tr.append(td);
    }
    grid.append(tr);
  }
  const bits = after.securebits;
  $("ids").textContent =
    `uids ${after.ruid}/${after.euid}/${after.suid}/${after.fsuid} · securebits 0x${bits.toString(16)}${bits ? ` (${securebitNames(bits).join(", ")})` : ""} · no_new_privs ${after.noNewPrivs ? "set" : "not set"}`;
}

async function start(): Promise<void> {
  examples = (await (await fetch("examples.json")).json()) as Record<string, string>;
  examplePick.append(el("option", { value: "" }, "(your own scenario)"));
  for (const name of Object.keys(examples)) examplePick.append(el("option", { value: name }, name));
  kernelPick.append(el("option", { value: "" }, "the scenario's own"));
  for (const k of [...PROFILE_MILESTONES].reverse()) kernelPick.append(el("option", { value: k }, k));
  const p = hashParams();
  const shared = p.get("s");
  const fromLink = shared === null ? null : linkScenario(shared);
  if (fromLink !== null) {
    editor.value = fromLink;
    // a shared example keeps its name in the picker
    examplePick.value = Object.keys(examples).find((name) => examples[name] === editor.value) ?? "";
  } else {
    examplePick.value = "ambient-keep-across-setuid.json";
    editor.value = examples[examplePick.value] ?? "";
  }
  kernelPick.value = linkKernel(p.get("kernel"));
  selected = Math.max(0, Number(p.get("step") ?? 1) - 1);
  examplePick.addEventListener("change", () => {
    if (!examplePick.value) return; // "your own scenario": keep what is in the editor
    editor.value = examples[examplePick.value] ?? "";
    selected = 0;
    run();
    writeHash();
  });
  kernelPick.addEventListener("change", () => {
    run();
    writeHash();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  editor.addEventListener("input", () => {
    linkProblem("");
    if (examples[examplePick.value] !== editor.value) examplePick.value = "";
    clearTimeout(timer);
    timer = setTimeout(() => {
      run();
      writeHash();
    }, 150);
  });
  // a link opened in this tab later: read it as the first one was; a bad one says so and leaves the page as it is
  window.addEventListener("hashchange", () => {
    const q = hashParams();
    const shared = q.get("s");
    linkProblem("");
    const text = shared === null ? null : linkScenario(shared);
    const kernel = linkKernel(q.get("kernel"));
    if (text === null) return;
    editor.value = text;
    kernelPick.value = kernel;
    examplePick.value = Object.keys(examples).find((name) => examples[name] === editor.value) ?? "";
    selected = Math.max(0, Number(q.get("step") ?? 1) - 1);
    run();
  });
  run();
  // for tests and the README's measurement: how long from navigation (performance's time origin:
  // fetching the page and bundle, compiling the engine, parsing, running) until the first result
  // was on the page
  document.body.dataset["firstResultMs"] = performance.now().toFixed(1);
}

void start();
