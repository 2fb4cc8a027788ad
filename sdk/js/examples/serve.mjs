// A tiny static server for the example page: `node examples/serve.mjs [port]`
// from sdk/js (after `npm run build && npm run bundle`), then open
// http://127.0.0.1:PORT/examples/chat.html?token=...&channel=lobby
// It serves this package's folder on loopback only.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".map": "application/json" };

export function serve(port = 0) {
  const srv = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { "Content-Type": types[extname(path)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  return new Promise((resolve) => srv.listen(port, "127.0.0.1", () => resolve(srv)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srv = await serve(Number(process.argv[2] ?? 8000));
  console.log(`serving ${root} on http://127.0.0.1:${srv.address().port}/examples/chat.html`);
}
