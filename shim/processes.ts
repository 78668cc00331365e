// What `capgate watch` reads of another process beyond its status: the file it runs (to judge
// an exec's gain against that very file) and its user namespace's ancestry (to tell a move into
// a child namespace, which unshare and clone make, from a move anywhere else, which no system
// call makes). Both need ptrace-read access to the process: root has it for every process, a
// user for its own.
import { closeSync, fstatSync, openSync } from "node:fs";
import type { ExecFile } from "../src/ops.js";
import { libcCall } from "./libc.js";
import { fileOfDescriptor } from "./program.js";

const O_PATH = 0o10000000;
/** ioctl on a namespace descriptor: a descriptor of its parent (EPERM above the caller's own namespace). */
const NS_GET_PARENT = 0xb702;
/** More levels than the kernel allows (32): a chain that long is no chain. */
const MAX_LEVELS = 40;

/** The file process `pid` runs, as its last execve saw it (/proc/PID/exe); null when it cannot be opened. */
export function execFileOf(pid: number): ExecFile | null {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/exe`, O_PATH);
  } catch {
    return null;
  }
  try {
    return fileOfDescriptor(fd, fstatSync(fd), null).file;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * The inodes of process `pid`'s user namespace and of each namespace above it (NS_GET_PARENT),
 * up to the one this process is in; null when they cannot be read.
 */
export function userNamespaceChain(pid: number): number[] | null {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/ns/user`, "r");
  } catch {
    return null;
  }
  const chain: number[] = [];
  try {
    for (let level = 0; level < MAX_LEVELS; level++) {
      chain.push(fstatSync(fd).ino);
      const parent = libcCall("ioctl", "i32", [
        ["i32", fd],
        ["i64", NS_GET_PARENT],
      ]);
      if (parent.ret < 0) return chain; // the top: this process's own namespace, or the initial one
      closeSync(fd);
      fd = parent.ret;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}
