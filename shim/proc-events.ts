// The kernel's own report of every fork, exec, uid and gid change, as it makes them: the proc
// connector (netlink, CN_IDX_PROC; root in the initial namespaces only). It is evidence no
// process can forge and has no gap between two looks: `capgate watch` takes from it which
// task made which (a new thread or process is judged against its creator) and which ran
// execve. Read without blocking: each look drains what came since the last one.
import { libcCall } from "./libc.js";

const AF_NETLINK = 16,
  SOCK_DGRAM = 2,
  SOCK_NONBLOCK = 0o4000,
  SOCK_CLOEXEC = 0o2000000,
  NETLINK_CONNECTOR = 11,
  CN_IDX_PROC = 1,
  CN_VAL_PROC = 1,
  NLMSG_DONE = 3,
  PROC_CN_MCAST_LISTEN = 1,
  SOL_SOCKET = 1,
  SO_RCVBUFFORCE = 33,
  MSG_DONTWAIT = 0x40,
  EAGAIN = 11,
  ENOBUFS = 105;
/** struct nlmsghdr, then struct cn_msg: where a proc_event starts in a message. */
const NLMSGHDR = 16,
  CN_MSG = 20,
  EVENT = NLMSGHDR + CN_MSG,
  /** proc_event: what, cpu, timestamp_ns, then the event's data. */
  EVENT_DATA = EVENT + 16;
const WHAT = { FORK: 0x1, EXEC: 0x2, UID: 0x4, GID: 0x40, EXIT: 0x80000000 } as const;
/** Room for the events between two looks: a busy machine's forks at the default 200 ms. */
const RECEIVE_BUFFER = 8 << 20;

export type ProcEvent =
  | {
      readonly kind: "fork";
      readonly parentTid: number;
      readonly parentPid: number;
      readonly tid: number;
      readonly pid: number;
    }
  | { readonly kind: "exec"; readonly tid: number; readonly pid: number }
  | {
      readonly kind: "uid" | "gid";
      readonly tid: number;
      readonly pid: number;
      readonly real: number;
      readonly effective: number;
    }
  | { readonly kind: "exit"; readonly tid: number; readonly pid: number };

/** The proc connector, subscribed. */
export class ProcEvents {
  private constructor(private fd: number) {}

  /** Subscribes (needs CAP_NET_ADMIN in the initial namespaces); the reason when it cannot. */
  static open(): ProcEvents | { problem: string } {
    const fd = libcCall("socket", "i32", [
      ["i32", AF_NETLINK],
      ["i32", SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC],
      ["i32", NETLINK_CONNECTOR],
    ]);
    if (fd.ret < 0) return { problem: `no netlink connector socket (errno ${fd.errno})` };
    const address = Buffer.alloc(12);
    address.writeUInt16LE(AF_NETLINK, 0);
    address.writeUInt32LE(CN_IDX_PROC, 8);
    const bound = libcCall("bind", "i32", [
      ["i32", fd.ret],
      ["bytes", address],
      ["i32", address.length],
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(RECEIVE_BUFFER, 0);
    libcCall("setsockopt", "i32", [
      ["i32", fd.ret],
      ["i32", SOL_SOCKET],
      ["i32", SO_RCVBUFFORCE],
      ["bytes", size],
      ["i32", 4],
    ]);
    const msg = Buffer.alloc(EVENT + 4);
    msg.writeUInt32LE(msg.length, 0);
    msg.writeUInt16LE(NLMSG_DONE, 4);
    msg.writeUInt32LE(process.pid, 12);
    msg.writeUInt32LE(CN_IDX_PROC, NLMSGHDR);
    msg.writeUInt32LE(CN_VAL_PROC, NLMSGHDR + 4);
    msg.writeUInt16LE(4, NLMSGHDR + 16);
    msg.writeUInt32LE(PROC_CN_MCAST_LISTEN, EVENT);
    const sent =
      bound.ret === 0
        ? libcCall("send", "i64", [
            ["i32", fd.ret],
            ["bytes", msg],
            ["i64", msg.length],
            ["i32", 0],
          ])
        : bound;
    if (bound.ret !== 0 || sent.ret !== msg.length) {
      libcCall("close", "i32", [["i32", fd.ret]]);
      return {
        problem: `the proc connector refused the subscription (errno ${sent.errno || bound.errno}: it needs root)`,
      };
    }
    return new ProcEvents(fd.ret);
  }

  /** Every event since the last call; `lost` when the kernel dropped some (the buffer overflowed). */
  drain(): { events: ProcEvent[]; lost: boolean } {
    const events: ProcEvent[] = [];
    let lost = false;
    const buf = Buffer.alloc(4096);
    for (;;) {
      const r = libcCall("recv", "i64", [
        ["i32", this.fd],
        ["bytes", buf],
        ["i64", buf.length],
        ["i32", MSG_DONTWAIT],
      ]);
      if (r.ret < 0) {
        if (r.errno === ENOBUFS) {
          lost = true;
          continue;
        }
        if (r.errno !== EAGAIN) lost = true;
        break;
      }
      // one datagram may carry several netlink messages
      for (let at = 0; at + EVENT_DATA <= r.ret;) {
        const len = buf.readUInt32LE(at);
        if (len < EVENT_DATA || at + len > r.ret) break;
        const e = parse(buf, at);
        if (e) events.push(e);
        at += (len + 3) & ~3;
      }
    }
    return { events, lost };
  }

  close(): void {
    if (this.fd >= 0) libcCall("close", "i32", [["i32", this.fd]]);
    this.fd = -1;
  }
}

function parse(b: Buffer, at: number): ProcEvent | null {
  const what = b.readUInt32LE(at + EVENT);
  const d = at + EVENT_DATA;
  const u = (k: number) => b.readUInt32LE(d + 4 * k);
  switch (what) {
    case WHAT.FORK:
      return { kind: "fork", parentTid: u(0), parentPid: u(1), tid: u(2), pid: u(3) };
    case WHAT.EXEC:
      return { kind: "exec", tid: u(0), pid: u(1) };
    case WHAT.UID:
      return { kind: "uid", tid: u(0), pid: u(1), real: u(2), effective: u(3) };
    case WHAT.GID:
      return { kind: "gid", tid: u(0), pid: u(1), real: u(2), effective: u(3) };
    case WHAT.EXIT:
      return { kind: "exit", tid: u(0), pid: u(1) };
  }
  return null;
}
