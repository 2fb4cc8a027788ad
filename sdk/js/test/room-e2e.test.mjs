// End to end in headless Chromium: three pages of examples/room.html join a
// call that escalates on salam up's SFU, each with one RTCPeerConnection
// wired by connectSFU; each hears the two others, and the SFU names the
// active speakers from Chromium's audio levels. Then a forced mute is
// seen with its flag, and an unsubscribe removes a track by renegotiation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startSalamWith } from "./salam.mjs";
import { serve } from "../examples/serve.mjs";

test("three browser pages in an SFU room through connectSFU", { timeout: 120000 }, async (t) => {
  const up = await startSalamWith("calls:\n  sfu_threshold: 2\n", mkdtempSync(join(tmpdir(), "salam-e2e-room-")), "up", "--listen", "127.0.0.1:0");
  t.after(() => up.kill());
  const toks = ["alice", "bob", "carol"].map((u) => up.token(u));
  await up.group("team", toks[0], [toks[1], "bob"], [toks[2], "carol"]);
  const web = await serve(0);
  t.after(() => web.close());
  // Chromium leaves loopback out of ICE unless told; this machine has nothing else.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"],
  });
  t.after(() => browser.close());
  const open = async (token) => {
    const page = await (await browser.newContext()).newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    const q = new URLSearchParams({ url: up.url(), token, channel: "team" });
    await page.goto(`http://127.0.0.1:${web.address().port}/examples/room.html?${q}`);
    await page.waitForFunction(() => window.room?.ready);
    return page;
  };
  const [alice, bob, carol] = [await open(toks[0]), await open(toks[1]), await open(toks[2])];
  const pages = { alice, bob, carol };
  const explain = async () => {
    const out = [];
    for (const [who, p] of Object.entries(pages)) {
      out.push(who + ": " + JSON.stringify(await p.evaluate(async () => ({
        pc: window.room.pc?.connectionState, sig: window.room.pc?.signalingState, packets: window.room.pc && await window.room.packets(),
        events: window.room.events.map((e) => [e.kind, e.from, e.mid]), errors: window.room.errors,
      }))));
    }
    return out.join("\n");
  };
  const until = async (what, page, fn, arg) => {
    try {
      await page.waitForFunction(fn, arg, { timeout: 30000, polling: 100 });
    } catch (err) {
      throw new Error(`timed out waiting for ${what}\n${await explain()}`);
    }
  };

  const call = await alice.evaluate(() => window.room.start());
  await bob.evaluate((c) => window.room.join(c), call);
  assert.equal(await carol.evaluate((c) => window.room.join(c), call), true, "the third join escalates");
  for (const [who, page] of Object.entries(pages)) {
    const others = Object.keys(pages).filter((o) => o !== who);
    await until(`${who} hearing ${others}`, page, async (others) => {
      const n = await window.room.packets();
      return others.every((o) => (n[o] ?? 0) > 20);
    }, others);
  }

  // Chromium sends the audio level header extension: the SFU names the speakers.
  await until("active speakers", alice, () => window.room.events.some((e) => e.kind === 22 && e.speakers.length > 0));

  // The moderator mutes bob: a forced mute, seen by carol with its flag.
  await alice.evaluate(() => window.room.client.roomMute(window.room.call, "bob"));
  await until("carol seeing bob's forced mute", carol, () => window.room.events.some((e) => e.kind === 25 && e.from === "bob" && e.forced));
  // Carol stops receiving alice's audio: the SFU renegotiates it away.
  const mid = await carol.evaluate(() => window.room.events.find((e) => e.kind === 20 && e.from === "alice").mid);
  await carol.evaluate((mid) => window.room.client.roomUnsubscribe(window.room.call, "alice", mid), mid);
  await until("alice's track removed for carol", carol, () => window.room.removed.alice === true);
  for (const page of Object.values(pages)) assert.deepEqual(await page.evaluate(() => window.room.errors), []);
});
