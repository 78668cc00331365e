// capgate container FILE... | capgate container --docker -- docker run ARGS...: parse the
// files, read the image (rootfs) when there is one, predict each container, render. Nothing is
// run: the image is only read.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { kernelArg } from "./args.js";
import { noteProfile } from "./profile.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { InputError } from "../parse/errors.js";
import { UsageError } from "./errors.js";
import { terminalSafe } from "./escape.js";
import {
  containerDocuments,
  containerJson,
  containerText,
  dockerRunRequest,
  predictContainer,
  containerScenario,
  ENGINE_NAMES,
  ContainerInputError,
  NO_ACCOUNTS,
  type ContainerDoc,
  type ContainerPrediction,
  type EngineName,
  type Entrypoint,
  type Accounts,
} from "../container/index.js";

export interface ContainerOptions {
  readonly json?: boolean;
  readonly kernel?: string;
  readonly engine?: string;
  readonly runtime?: string;
  readonly rootfs?: string;
  readonly docker?: boolean;
  readonly scenario?: boolean;
}

/** What the image holds, read through the shim (file capabilities need getxattr). */
async function readImage(
  rootfs: string,
  argv0: string | undefined,
  pathVar: string | null,
): Promise<{ accounts: Accounts; entrypoint: Entrypoint | undefined }> {
  const image = await import("../../shim/image.js");
  image.requireRootfs(rootfs);
  return {
    accounts: image.imageAccounts(rootfs),
    entrypoint: argv0 === undefined ? undefined : image.imageEntrypoint(rootfs, argv0, pathVar),
  };
}

export async function predictFiles(files: readonly string[], opts: ContainerOptions): Promise<ContainerPrediction[]> {
  if (opts.runtime !== undefined && opts.runtime !== "runc")
    throw new UsageError(`--runtime: only runc is modelled, got ${JSON.stringify(opts.runtime)}`);
  if (opts.engine !== undefined && !(ENGINE_NAMES as readonly string[]).includes(opts.engine))
    throw new UsageError(`--engine must be one of ${ENGINE_NAMES.join(", ")}, got ${JSON.stringify(opts.engine)}`);
  const profile: KernelProfile = noteProfile(opts.kernel === undefined ? kernelProfile() : kernelArg(opts.kernel));
  const out: ContainerPrediction[] = [];
  const wrap = async <T>(file: string, f: () => Promise<T> | T): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof ContainerInputError)
        throw new InputError(
          file,
          e.message.startsWith(`${file}`) ? e.message.slice(file.length).replace(/^:\s*/, "") : e.message,
        );
      throw e;
    }
  };
  if (opts.docker) {
    const engine = (opts.engine ?? "docker") as EngineName;
    const { name, request } = await wrap("docker run", () => dockerRunRequest(files, profile, engine));
    const rootfs = opts.rootfs;
    const image = rootfs ? await wrap("docker run", () => readImage(rootfs, request.args?.[0], null)) : undefined;
    out.push(
      predictContainer(
        {
          file: "docker run",
          name,
          source: { kind: "engine", request },
          accounts: image?.accounts ?? NO_ACCOUNTS,
          entrypoint: image?.entrypoint,
        },
        profile,
      ),
    );
    return out;
  }
  if (files.length === 0)
    throw new UsageError(
      "name a file (config.json, a Kubernetes manifest, a Compose file), or use --docker -- docker run ...",
    );
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(file, code === "ENOENT" ? "no such file" : `cannot read (${code})`);
    }
    const docs: ContainerDoc[] = await wrap(file, () => containerDocuments(file, text, profile));
    for (const doc of docs) {
      let source = doc.source;
      if (source.kind === "engine" && opts.engine)
        source = { kind: "engine", request: { ...source.request, engine: opts.engine as EngineName } };
      const rootfs =
        doc.rootfs !== null ? resolve(file === "-" ? "." : dirname(file), doc.rootfs) : (opts.rootfs ?? null);
      const argv0 = source.kind === "oci" ? source.process.args[0] : source.request.args?.[0];
      const image = rootfs ? await wrap(file, () => readImage(rootfs, argv0, doc.path)) : doc.image;
      out.push(
        predictContainer(
          { file, name: doc.name, source, accounts: image?.accounts ?? NO_ACCOUNTS, entrypoint: image?.entrypoint },
          profile,
        ),
      );
    }
  }
  return out;
}

/** Exit status: 0 every asked-for capability is effective, 1 some are not (or a container does not start). */
export async function containerCommand(files: readonly string[], opts: ContainerOptions): Promise<number> {
  const predictions = await predictFiles(files, opts);
  if (opts.scenario) {
    if (opts.json) throw new UsageError("--scenario prints a scenario document: leave out --json");
    const [one, ...more] = predictions;
    if (!one || more.length)
      throw new UsageError(`--scenario replays one container; these files describe ${predictions.length}`);
    process.stdout.write(JSON.stringify(containerScenario(one), null, 2) + "\n");
    return 0;
  }
  if (opts.json) process.stdout.write(JSON.stringify(predictions.map(containerJson), null, 2) + "\n");
  else process.stdout.write(predictions.map((p) => containerText(p, terminalSafe)).join("\n\n") + "\n");
  return predictions.some((p) => p.failed || p.notModelled || p.missing.length) ? 1 : 0;
}
