// Reads what a container prediction needs from an image's root directory, without running
// anything: /etc/passwd and /etc/group, and the entrypoint as execve inside the container would
// find it (a relative name searched in PATH, symbolic links followed as if the rootfs were /,
// never out of it), with its set-id bits, owner, group and file capabilities.
import { lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { parseAccounts, type Accounts } from "../src/container/accounts.js";
import type { Entrypoint } from "../src/container/engines.js";
import { ContainerInputError } from "../src/container/errors.js";
import { getFileCaps } from "./files.js";

/** Linux's limit on symbolic links followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const S_ISUID = 0o4000,
  S_ISGID = 0o2000,
  S_IXGRP = 0o010;

/** Resolves a path inside the rootfs as the kernel would after chroot: null when it does not exist. */
export function resolveInRoot(rootfs: string, path: string): string | null {
  let links = 0;
  let done: string[] = [];
  let todo = path.split("/").filter((p) => p !== "" && p !== ".");
  while (todo.length) {
    const part = todo.shift()!; // (todo is not empty)
    if (part === "..") {
      done.pop();
      continue;
    }
    const host = join(rootfs, ...done, part);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return null;
      const target = readlinkSync(host);
      if (target.startsWith("/")) done = [];
      todo = [...target.split("/").filter((p) => p !== "" && p !== "."), ...todo];
      continue;
    }
    done.push(part);
  }
  return join(rootfs, ...done);
}

function readText(path: string | null): string | null {
  if (path === null) return null;
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** The image's accounts. */
export function imageAccounts(rootfs: string): Accounts {
  return parseAccounts(readText(resolveInRoot(rootfs, "/etc/passwd")), readText(resolveInRoot(rootfs, "/etc/group")));
}

/** The entrypoint as the runtime's exec.LookPath finds it, and what execve will see of it. */
export function imageEntrypoint(rootfs: string, argv0: string, pathVar: string | null): Entrypoint {
  const candidates = argv0.includes("/")
    ? [posix.resolve("/", argv0)]
    : (pathVar ?? DEFAULT_PATH)
        .split(":")
        .filter((d) => d !== "")
        .map((d) => posix.join(posix.resolve("/", d), argv0));
  for (const inside of candidates) {
    const host = resolveInRoot(rootfs, inside);
    if (host === null) continue;
    const st = statSync(host);
    if (!st.isFile() || (st.mode & 0o111) === 0) continue;
    const caps = getFileCaps(host);
    return {
      path: inside,
      known: true,
      file: {
        setuid: (st.mode & S_ISUID) !== 0,
        owner: st.uid,
        setgid: (st.mode & S_ISGID) !== 0 && (st.mode & S_IXGRP) !== 0,
        group: st.gid,
        ...(caps ? { caps } : {}),
      },
    };
  }
  throw new ContainerInputError(
    `the entrypoint ${JSON.stringify(argv0)} is not an executable file in ${rootfs}${argv0.includes("/") ? "" : ` (searched ${pathVar ?? DEFAULT_PATH})`}`,
  );
}

/** Refuses a rootfs that is not a directory. */
export function requireRootfs(rootfs: string): void {
  let st;
  try {
    st = statSync(rootfs);
  } catch {
    throw new ContainerInputError(`the rootfs ${rootfs} does not exist`);
  }
  if (!st.isDirectory()) throw new ContainerInputError(`the rootfs ${rootfs} is not a directory`);
}
