// The engine contract: contract/engine.json is the one declaration; its three generated mirrors
// must be what the generator writes today, and the engine must agree with them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { engine } from "../src/engine/wasm.js";
import { STATE_SIZE, OP_SIZE, RESULT_SIZE, CHECK_SIZE } from "../src/engine/contract.js";
import { renderContract, readContract, layout, CONTRACT_FILES, checkFeatureNames } from "../scripts/gen-contract.js";
import {
  readKernelFacts,
  renderKernelFacts,
  withFeatureTable,
  KERNEL_FILES,
  type KernelFacts,
} from "../scripts/gen-kernel-facts.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("the generated mirrors of the contract (AssemblyScript, TypeScript, C) are fresh", () => {
  const rendered = renderContract(readContract(root));
  for (const file of CONTRACT_FILES) {
    assert.equal(readFileSync(`${root}${file}`, "utf8"), rendered[file], `${file} is stale: run npm run contract`);
  }
});

test("the kernel facts are one declaration: its mirrors (TypeScript, AssemblyScript, C) and docs/KERNELS.md's table are fresh", () => {
  const facts = readKernelFacts(root);
  checkFeatureNames(readContract(root), facts);
  const rendered = renderKernelFacts(facts);
  for (const file of KERNEL_FILES)
    assert.equal(readFileSync(`${root}${file}`, "utf8"), rendered[file], `${file} is stale: run npm run contract`);
  const doc = readFileSync(`${root}docs/KERNELS.md`, "utf8");
  assert.equal(doc, withFeatureTable(doc, facts), "docs/KERNELS.md's feature table is stale: run npm run contract");
  // control: a new capability row changes every mirror, so a stale one cannot pass
  const grown: KernelFacts = { ...facts, capabilities: [...facts.capabilities, ["NEW_ONE", "7.4", "a test row"]] };
  const again = renderKernelFacts(grown);
  for (const file of KERNEL_FILES) assert.notEqual(again[file], rendered[file], `${file} follows the declaration`);
  // and the engine's feature bits must name the declaration's features
  assert.throws(
    () =>
      checkFeatureNames(readContract(root), {
        ...facts,
        features: { ...facts.features, NEW_FEATURE: facts.features["AMBIENT"]! },
      }),
    /differ/,
  );
});

test("the contract's records are laid out in order, aligned, within their sizes; a bad one is refused", () => {
  const spec = readContract(root);
  const offsets = layout(spec);
  assert.deepEqual(offsets["state"]!.slice(0, 2), [
    ["permitted", 0],
    ["effective", 8],
  ]);
  const broken = {
    ...spec,
    records: {
      ...spec.records,
      state: {
        ...spec.records["state"]!,
        fields: [
          ["flags", 4],
          ["permitted", 8],
        ] as Array<[string, number]>,
      },
    },
  };
  assert.throws(() => layout(broken), /state\.permitted at 4 is not 8-byte aligned/);
  const tooBig = { ...spec, records: { ...spec.records, check: { ...spec.records["check"]!, size: 48 } } };
  assert.throws(() => layout(tooBig), /more than its size 48/);
});

test("the engine was built from the same contract: its exported record sizes", () => {
  assert.equal(engine.ABI_STATE_SIZE.value, STATE_SIZE);
  assert.equal(engine.ABI_OP_SIZE.value, OP_SIZE);
  assert.equal(engine.ABI_RESULT_SIZE.value, RESULT_SIZE);
  assert.equal(engine.ABI_CHECK_SIZE.value, CHECK_SIZE);
});

const cc = process.env["CC"] ?? "cc";
const noCompiler = spawnSync(cc, ["--version"]).error ? `no C compiler (${cc})` : null;

test(
  "the kernel runner compiles against the generated header (its layout assertions hold)",
  { skip: noCompiler && process.env["CI"] !== "true" ? noCompiler : false },
  () => {
    assert.equal(noCompiler, null, "a C compiler is needed under CI");
    const r = spawnSync(cc, ["-fsyntax-only", "-Wall", "-Wextra", `${root}native/capfuzz.c`], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  },
);

test("the engine imports nothing: no I/O, no clock, no randomness can reach it", () => {
  for (const file of ["capgate.wasm", "capgate.debug.wasm"]) {
    const module = new WebAssembly.Module(readFileSync(new URL(`../../build/${file}`, import.meta.url)));
    assert.deepEqual(WebAssembly.Module.imports(module), [], file);
  }
});

test("the codec puts each set*id call's ids in slots a, b, c in the order ID_CALL_ARGS declares (the order the system call takes them)", async () => {
  const { encodeOp } = await import("../src/engine/codec.js");
  const { OP, OPK } = await import("../src/engine/contract.js");
  const { ID_CALL_ARGS } = await import("../src/ops.js");
  const { threadState } = await import("../src/state.js");
  const w = new Uint32Array(OP_SIZE >>> 2);
  for (const [name, fields] of Object.entries(ID_CALL_ARGS)) {
    const op = { op: name, ...Object.fromEntries(fields.map((f, i) => [f, 11 * (i + 1)])) };
    encodeOp(w, 0, op as never, threadState());
    assert.equal(w[OP.kind], OPK[name as keyof typeof OPK], name);
    assert.deepEqual(
      [OP.a, OP.b, OP.c].slice(0, fields.length).map((slot) => w[slot]),
      fields.map((_, i) => 11 * (i + 1)),
      name,
    );
  }
});
