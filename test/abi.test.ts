import { test } from "node:test";
import assert from "node:assert/strict";
import { engine } from "../src/engine/wasm.js";
import { STATE_SIZE, OP_SIZE, RESULT_SIZE, CHECK_SIZE } from "../src/engine/layout.js";
import { readFileSync } from "node:fs";

test("the JS mirror of the ABI has the record sizes the engine exports", () => {
  assert.equal(engine.ABI_STATE_SIZE.value, STATE_SIZE);
  assert.equal(engine.ABI_OP_SIZE.value, OP_SIZE);
  assert.equal(engine.ABI_RESULT_SIZE.value, RESULT_SIZE);
  assert.equal(engine.ABI_CHECK_SIZE.value, CHECK_SIZE);
});

test("the engine imports nothing: no I/O, no clock, no randomness can reach it", () => {
  for (const file of ["capgate.wasm", "capgate.debug.wasm"]) {
    const module = new WebAssembly.Module(readFileSync(new URL(`../../build/${file}`, import.meta.url)));
    assert.deepEqual(WebAssembly.Module.imports(module), [], file);
  }
});

test("the field offsets of assembly/layout.ts match src/engine/layout.ts", async () => {
  const source = readFileSync(new URL("../../assembly/layout.ts", import.meta.url), "utf8");
  const offsets = Object.fromEntries([...source.matchAll(/export const (\w+): u32 = (\d+);/g)].map((m) => [m[1], Number(m[2])]));
  const { ST, OP, RS, CK } = await import("../src/engine/layout.js");
  const pairs: Array<[string, number]> = [
    ["ST_PERMITTED", ST.permitted], ["ST_EFFECTIVE", ST.effective], ["ST_INHERITABLE", ST.inheritable], ["ST_BOUNDING", ST.bounding],
    ["ST_AMBIENT", ST.ambient], ["ST_SECUREBITS", ST.securebits], ["ST_RUID", ST.ruid], ["ST_EUID", ST.euid], ["ST_SUID", ST.suid],
    ["ST_FSUID", ST.fsuid], ["ST_FLAGS", ST.flags], ["ST_TID", ST.tid],
    ["OP_KIND", OP.kind], ["OP_A", OP.a], ["OP_B", OP.b], ["OP_C", OP.c], ["OP_X0", OP.x0], ["OP_X1", OP.x1], ["OP_X2", OP.x2], ["OP_X3", OP.x3], ["OP_D", OP.d],
    ["RS_OK", RS.ok], ["RS_RET", RS.ret], ["RS_ERRNO", RS.errno], ["RS_RULE", RS.rule], ["RS_FAULT", RS.fault], ["RS_DATA_EFFECTIVE", RS.dataEffective],
    ["RS_DATA_PERMITTED", RS.dataPermitted], ["RS_DATA_INHERITABLE", RS.dataInheritable], ["RS_VERSION", RS.version], ["RS_NOTES", RS.notes], ["RS_AUX", RS.aux],
    ["CK_PERMITTED", CK.permitted], ["CK_EFFECTIVE", CK.effective], ["CK_INHERITABLE", CK.inheritable], ["CK_BOUNDING", CK.bounding],
    ["CK_NEW_EFFECTIVE", CK.newEffective], ["CK_NEW_PERMITTED", CK.newPermitted], ["CK_NEW_INHERITABLE", CK.newInheritable],
  ];
  for (const [name, words] of pairs) assert.equal(offsets[name], words * 4, name);
});
