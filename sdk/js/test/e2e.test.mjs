// End to end in headless Chromium: two pages of examples/chat.html chat
// through a real salam up; one page is reloaded mid-conversation and ends
// with every message exactly once, in order (its transcript and resume
// positions live in sessionStorage).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startSalam } from "./salam.mjs";
import { serve } from "../examples/serve.mjs";

test("two browser pages chat; the reloaded one resumes without loss", { timeout: 120000 }, async (t) => {
  const up = await startSalam(mkdtempSync(join(tmpdir(), "salam-e2e-")), "up", "--listen", "127.0.0.1:0");
  t.after(() => up.kill());
  const [aliceTok, bobTok] = [up.token("alice"), up.token("bob")];
  await up.group("e2e", aliceTok, [bobTok, "bob"]);
  const web = await serve(0);
  t.after(() => web.close());
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  t.after(() => browser.close());

  const open = async (token) => {
    const page = await (await browser.newContext()).newPage();
    page.on("pageerror", (err) => console.error("page error:", err));
    const q = new URLSearchParams({ url: up.url(), token, channel: "e2e" });
    await page.goto(`http://127.0.0.1:${web.address().port}/examples/chat.html?${q}`);
    await page.waitForFunction(() => window.chat?.ready);
    return page;
  };
  const alice = await open(aliceTok);
  const bob = await open(bobTok);
  const transcript = (page) => page.evaluate(() => window.chat.transcript);

  // One message through the form, as a person would send it.
  await alice.fill("#text", "salam 1");
  await alice.press("#text", "Enter");
  for (let i = 2; i <= 5; i++) await alice.evaluate((text) => window.chat.send(text), `salam ${i}`);
  await bob.waitForFunction(() => window.chat.transcript.length === 5);

  // Alice keeps talking while bob's page reloads.
  const sending = alice.evaluate(async () => {
    for (let i = 6; i <= 20; i++) {
      await window.chat.send(`salam ${i}`);
      await new Promise((r) => setTimeout(r, 30)); // spread over the reload
    }
  });
  await bob.reload();
  await bob.waitForFunction(() => window.chat?.ready);
  const atReady = (await transcript(bob)).length;
  await sending;
  await bob.waitForFunction(() => window.chat.transcript.length >= 20, null, { timeout: 20000 });
  await new Promise((r) => setTimeout(r, 200)); // a duplicate would arrive now

  const want = Array.from({ length: 20 }, (_, i) => [i + 1, `salam ${i + 1}`, "alice"]);
  assert.deepEqual((await transcript(bob)).map((m) => [m.seq, m.text, m.from]), want);
  assert.deepEqual((await transcript(alice)).map((m) => [m.seq, m.text, m.from]), want);
  assert.equal(await bob.locator("#log li").count(), 20, "every message rendered once");
  t.diagnostic(`bob's page came back with ${atReady} of 20 messages; the rest arrived by resume and live`);
});
