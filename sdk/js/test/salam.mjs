// Test harness: the real salam binary as a subprocess, on loopback only.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../..", import.meta.url));

let bin = process.env.SALAM_BIN;
/** salamBin builds the server from the repository once (or uses $SALAM_BIN). */
export function salamBin() {
  if (!bin) {
    bin = join(mkdtempSync(join(tmpdir(), "salam-js-")), "salam");
    execFileSync("go", ["build", "-o", bin, "./cmd/salam"], { cwd: root, stdio: "inherit" });
  }
  return bin;
}

// Publish limits that would pace the tests, lifted.
const config = "edge:\n  publish_rate: 100000\n  publish_burst: 100000\n  user_publish_rate: 100000\n  user_publish_burst: 100000\n";

/** startSalam runs `salam ...args` with data in dir and resolves once it listens. */
export function startSalam(dir, ...args) {
  return startSalamWith("", dir, ...args);
}

/** startSalamWith is startSalam with more YAML appended to the test config (top-level sections other than edge). */
export function startSalamWith(extra, dir, ...args) {
  writeFileSync(join(dir, "test.yaml"), config + extra);
  const proc = spawn(salamBin(), [...args, "--data", dir, "--config", join(dir, "test.yaml")], { stdio: ["ignore", "ignore", "pipe"] });
  const wantNATS = args.includes("--nats-listen");
  const s = { proc, addr: "", nats: "", dir, exited: new Promise((r) => proc.on("exit", r)) };
  s.url = () => `ws://${s.addr}/v1/ws`;
  s.kill = () => { proc.kill("SIGKILL"); return s.exited; };
  s.token = (user) => execFileSync(salamBin(), ["token", "--user", user, "--data", dir]).toString().trim();
  s.rest = async (token, method, path, body) => {
    const r = await fetch(`http://${s.addr}${path}`, {
      method, body: JSON.stringify(body), headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    });
    return r.status;
  };
  s.group = async (id, owner, ...members) => {
    if ((await s.rest(owner, "POST", "/v1/channels", { id, name: id, kind: "group", public: true })) !== 201) throw new Error("create " + id);
    for (const [tok, user] of members) await s.rest(tok, "POST", `/v1/channels/${id}/members`, { user });
  };
  return new Promise((resolve, reject) => {
    let buf = "";
    proc.stderr.on("data", (d) => {
      buf += d;
      s.addr ||= /listening on (\S+)/.exec(buf)?.[1] ?? "";
      s.nats ||= /clients at (nats:\/\/\S+)/.exec(buf)?.[1] ?? "";
      if (s.addr && (!wantNATS || s.nats)) resolve(s);
    });
    s.exited.then(() => reject(new Error("salam exited: " + buf)));
  });
}

/** freePort returns a loopback address nobody listens on. */
export function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

/** waitFor polls cond every 10 ms until it holds, or fails after ms. */
export async function waitFor(what, cond, ms = 20000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 10));
  }
}
