// capgate playground: serves the static playground (dist/playground) on 127.0.0.1, nothing else:
// every evaluation runs in the browser, on the engine built into the page.
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CapgateInputError, CapgateSystemError } from "../errors.js";

const DIR = fileURLToPath(new URL("../../playground/", import.meta.url));
const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "examples.json": "application/json",
  "rules.html": "text/html; charset=utf-8",
};

/** Starts the server; resolves with its URL once it listens. */
export function servePlayground(port: number): Promise<{ url: string; close(): void }> {
  if (!existsSync(`${DIR}index.html`)) throw new CapgateSystemError("the playground is not built (npm run build)");
  const server = createServer((req, res) => {
    const name = (req.url ?? "/").split(/[?#]/)[0]!.replace(/^\/+/, "") || "index.html";
    const type = TYPES[name];
    if (req.method !== "GET" || !type) {
      res.writeHead(404).end("not found\n");
      return;
    }
    res.writeHead(200, { "content-type": type, "cache-control": "no-cache" }).end(readFileSync(`${DIR}${name}`));
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new CapgateSystemError(
          e.code === "EADDRINUSE" ? `port ${port} is in use (give another with --port)` : `cannot listen: ${e.message}`,
        ),
      ),
    );
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const actual = typeof address === "object" && address ? address.port : port;
      resolve({ url: `http://127.0.0.1:${actual}/`, close: () => server.close() });
    });
  });
}

export async function playgroundCommand(opts: { port?: string; open?: boolean }): Promise<number> {
  const port = opts.port === undefined ? 8047 : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CapgateInputError(`--port: expected 0 to 65535, got ${opts.port}`);
  const { url } = await servePlayground(port);
  process.stdout.write(`capgate playground: ${url} (Ctrl-C to stop)\n`);
  if (opts.open) {
    const opener = ["/usr/bin/xdg-open", "/usr/bin/open"].find((p) => existsSync(p));
    if (opener) spawn(opener, [url], { stdio: "ignore", detached: true }).unref();
    else process.stderr.write("capgate: no xdg-open here: open the address above in a browser\n");
  }
  await new Promise(() => {}); // serve until interrupted
  return 0;
}
