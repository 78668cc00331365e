import fc from "fast-check";
import { kernelProfile } from "../src/kernel/profiles.js";
import { trialArb, runnerMapsAllIds } from "../shim/trials.js";
import { runCampaign, describeDivergence } from "../shim/differential.js";
const profile = kernelProfile(process.argv[4] ?? "6.18");
const n = Number(process.argv[2] ?? 2000);
const trials = fc.sample(trialArb(profile, { uids: runnerMapsAllIds() }), { numRuns: n, seed: Number(process.argv[3] ?? 1) });
const r = runCampaign(trials, profile);
console.log(`trials ${r.trials} steps ${r.steps} kernel ${r.kernelMs.toFixed(0)} ms (${(r.trials / r.kernelMs * 1000).toFixed(0)} trials/s) divergences ${r.divergences.length} setup failures ${r.setupFailures.length}`);
const seen = new Map<string, number>();
for (const d of r.divergences) { const key = d.engine.rule + " | " + d.differences.map(x => x.split(":")[0]).join(","); seen.set(key, (seen.get(key) ?? 0) + 1); }
console.log([...seen.entries()]);
for (const [key] of seen) { const d = r.divergences.find(d => d.engine.rule + " | " + d.differences.map(x => x.split(":")[0]).join(",") === key)!; console.log(describeDivergence(d, profile).split("\n").slice(0, 6).join("\n")); }
for (const f of r.setupFailures.slice(0, 3)) console.log("setup failure stage", f.stage, JSON.stringify(f.trial.state));
