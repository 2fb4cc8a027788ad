// Salam console: plain JavaScript, no build step. The admin token lives in
// sessionStorage only; every API call sends it as a Bearer header, and the
// event stream (EventSource cannot set headers) as ?token=.
"use strict";
const $ = (id) => document.getElementById(id);
let token = "";
const series = []; // aggregate points, one per second, for the charts
const HISTORY = 300;

function api(path, opts = {}) {
  opts.headers = Object.assign({ Authorization: "Bearer " + token }, opts.headers || {});
  return fetch(path, opts).then(async (r) => {
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw Object.assign(new Error(body.detail || r.statusText), { status: r.status });
    return body;
  });
}

function signIn(t) {
  token = t.trim();
  api("/console/api/whoami").then((me) => {
    sessionStorage.setItem("salam-console-token", token);
    $("status").textContent = "signed in as " + me.user;
    $("login").hidden = true;
    $("app").hidden = false;
    openStream();
    listJourneys();
    loadAudit();
    loadChannels();
  }).catch((e) => { $("status").textContent = "sign-in failed: " + e.message; });
}

// ---- overview ----
function openStream() {
  const es = new EventSource("/console/api/stream?token=" + encodeURIComponent(token));
  es.addEventListener("overview", (ev) => {
    const ov = JSON.parse(ev.data);
    if (ov.series) { series.length = 0; series.push(...ov.series); }
    else { series.push(ov.totals); }
    while (series.length > HISTORY) series.shift();
    render(ov);
  });
  es.onerror = () => { $("status").textContent = "stream interrupted, retrying…"; };
  es.onopen = () => { $("status").textContent = $("status").textContent.replace("stream interrupted, retrying…", "live"); };
}

const fmt = (x, d = 0) => (x < 0 || x === undefined || x === null) ? "–" : Number(x).toFixed(d);

function render(ov) {
  const t = ov.totals;
  $("conn-total").textContent = fmt(t.connections);
  $("upg-total").textContent = fmt(t.upgrades_per_s, 1);
  $("fin-total").textContent = fmt(t.frames_in_per_s, 1);
  $("fout-total").textContent = fmt(t.frames_out_per_s, 1);
  $("p50-total").textContent = fmt(t.latency_p50_ms, 2);
  $("p99-total").textContent = fmt(t.latency_p99_ms, 2);
  const tb = $("nodes").tBodies[0];
  tb.replaceChildren(...(ov.nodes || []).map((n) => {
    const tr = document.createElement("tr");
    const health = Object.entries(n.health || {}).map(([k, v]) =>
      k.replace(/^salam_/, "") + "=" + (k.endsWith("_seconds") ? (v < 0 ? "err" : (v * 1000).toFixed(2) + "ms") : v)).join("  ");
    for (const v of [n.node, n.kind, fmt(n.connections), fmt(n.upgrades_per_s, 1), fmt(n.frames_in_per_s, 1),
      fmt(n.frames_out_per_s, 1), fmt(n.latency_p50_ms, 2), fmt(n.latency_p99_ms, 2), fmt(n.slow_consumer_closes), health]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    tr.lastChild.className = "health";
    return tr;
  }));
  chart("chart-conn", [["connections", "#3a7bd5"]]);
  chart("chart-frames", [["frames_in_per_s", "#3a7bd5"], ["frames_out_per_s", "#d5763a"]]);
  chart("chart-lat", [["latency_p50_ms", "#3a7bd5"], ["latency_p99_ms", "#d53a5a"]]);
}

function chart(id, lines) {
  const c = $(id), g = c.getContext("2d"), w = c.width, h = c.height;
  g.clearRect(0, 0, w, h);
  let max = 1;
  for (const p of series) for (const [k] of lines) if (p[k] > max) max = p[k];
  g.fillStyle = "#889"; g.font = "10px sans-serif"; g.fillText(fmt(max, max < 10 ? 2 : 0), 2, 10);
  for (const [k, color] of lines) {
    g.strokeStyle = color; g.lineWidth = 1.5; g.beginPath();
    series.forEach((p, i) => {
      const x = w - (series.length - 1 - i) * (w / HISTORY), y = h - 2 - (Math.max(p[k], 0) / max) * (h - 14);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }
}

// ---- message journey ----
let ws = null, wsReady = null, nextID = 1;
const pending = new Map();

function socket() {
  if (wsReady) return wsReady;
  wsReady = new Promise((resolve, reject) => {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/v1/ws?token=" + encodeURIComponent(token), "salam.v1.json");
    ws.onopen = () => request({ t: 1, cl: "salam-console" }).then(resolve, reject);
    ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
    ws.onclose = () => { wsReady = null; for (const p of pending.values()) p.reject(new Error("socket closed")); pending.clear(); };
    ws.onerror = () => reject(new Error("websocket failed"));
  });
  return wsReady;
}

function request(f) {
  f.i = nextID++;
  return new Promise((resolve, reject) => {
    pending.set(f.i, { resolve, reject });
    ws.send(JSON.stringify(f));
  });
}

function onFrame(f) {
  if (f.i && pending.has(f.i)) {
    const p = pending.get(f.i);
    pending.delete(f.i);
    f.t === 7 ? p.reject(new Error(f.r || "error " + f.e)) : p.resolve(f);
    return;
  }
  if (f.t === 13) { // receipt event: someone's delivered (1) or read (2) cursor moved
    const li = document.createElement("li");
    li.className = "receipt";
    li.textContent = (f.k === 2 ? "read" : "delivered") + " up to #" + f.s + " by " + f.f + " at " + new Date(f.ts).toISOString();
    $("receipts").prepend(li);
    if (current) pollJourney(current, 6);
  }
}

const subscribed = new Set();
async function ensureSubscribed(channel) {
  await socket();
  if (subscribed.has(channel)) return;
  await request({ t: 3, c: channel });
  subscribed.add(channel);
}

$("create").onclick = async () => {
  const channel = $("channel").value.trim();
  try {
    const members = $("members").value.split(",").map((s) => s.trim()).filter(Boolean);
    await api("/console/api/channels", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: channel, members }) }); // audited, then through the REST API
    $("journey-status").textContent = "channel " + channel + " created";
    loadChannels();
  } catch (e) { $("journey-status").textContent = "create failed: " + e.message; }
};

// The operator's own channels, to pick one for a journey.
async function loadChannels() {
  try {
    const chs = await api("/v1/channels");
    $("my-channels").replaceChildren(...chs.map((c) => Object.assign(document.createElement("option"), { value: c.id })));
  } catch (e) { /* picking is a convenience; typing works */ }
}

let current = null; // {channel, msgID}
$("journey-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const channel = $("channel").value.trim(), msgID = "console-" + Date.now() + "-" + Math.floor(Math.random() * 1e6);
  try {
    await ensureSubscribed(channel);
    await api("/console/api/sends", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ channel, msg_id: msgID }) }); // the audit record comes first
    const ack = await request({ t: 5, c: channel, m: msgID, d: $("message").value });
    current = { channel, msgID, seq: ack.s };
    $("send-status").textContent = "sent #" + ack.s + " (" + msgID + ") to " + channel + ";";
    $("journey-status").textContent = "tracing…";
    $("receipts").replaceChildren();
    pollJourney(current, 40);
  } catch (e) { $("send-status").textContent = "send failed: " + e.message; }
};

async function pollJourney(msg, times) {
  for (let i = 0; i < times && msg === current; i++) {
    try {
      const j = await api("/console/api/journeys?channel=" + encodeURIComponent(msg.channel) + "&msg_id=" + encodeURIComponent(msg.msgID));
      renderJourney(j);
    } catch (e) { if (e.status !== 404) { $("journey-status").textContent = e.message; return; } }
    await new Promise((r) => setTimeout(r, 500));
  }
  listJourneys();
  loadAudit();
}

function renderJourney(j) {
  const spans = j.spans || [];
  if (!spans.length) return;
  const t0 = Math.min(...spans.map((s) => s.start)), t1 = Math.max(...spans.map((s) => s.end));
  const total = Math.max(t1 - t0, 1);
  $("journey").replaceChildren(...spans.map((s) => {
    const row = document.createElement("div");
    row.className = "hop";
    row.dataset.name = s.name;
    const attrs = Object.entries(s.attrs || {}).filter(([k]) => k !== "node" && k !== "channel" && k !== "msg_id")
      .map(([k, v]) => k + "=" + v).join(" ");
    row.innerHTML = '<span class="hop-name"></span><span class="hop-node muted"></span><span class="hop-dur"></span>' +
      '<span class="bar"><i></i></span><span class="attrs"></span>';
    row.querySelector(".hop-name").textContent = s.name;
    row.querySelector(".hop-node").textContent = s.node;
    row.querySelector(".hop-dur").textContent = ((s.end - s.start) / 1e6).toFixed(3) + " ms";
    row.querySelector(".attrs").textContent = "+" + ((s.start - t0) / 1e6).toFixed(3) + " ms at " +
      new Date(s.start / 1e6).toISOString().slice(11, 23) + " " + attrs;
    const bar = row.querySelector(".bar i");
    bar.style.left = (100 * (s.start - t0) / total) + "%";
    bar.style.width = (100 * (s.end - s.start) / total) + "%";
    return row;
  }));
  $("journey-status").textContent = "trace " + j.trace + ": " + spans.length + " hops over " + (total / 1e6).toFixed(3) + " ms";
}

async function listJourneys() {
  try {
    const r = await api("/console/api/journeys?limit=20");
    $("journeys").replaceChildren(...(r.journeys || []).map((j) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "#";
      a.textContent = new Date(j.start / 1e6).toISOString().slice(11, 23) + " " + (j.channel || "?") + " " + (j.msg_id || j.trace);
      a.onclick = (ev) => { ev.preventDefault(); current = null; api("/console/api/journeys/" + j.trace).then(renderJourney); };
      li.appendChild(a);
      return li;
    }));
  } catch (e) { /* shown by the next call */ }
}

// ---- audit log ----
async function loadAudit() {
  try {
    const r = await api("/console/api/audit?limit=50");
    $("audit-chain").textContent = "chain: " + r.chain;
    $("audit").tBodies[0].replaceChildren(...r.records.map((a) => {
      const tr = document.createElement("tr");
      const hex = atob(a.hash).split("").slice(0, 6).map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
      for (const v of [a.seq, a.at, a.actor, a.action, a.target, hex + "…"]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      }
      return tr;
    }));
  } catch (e) { $("audit-chain").textContent = e.message; }
}
$("audit-refresh").onclick = loadAudit;

// ---- inspect ----
$("inspect-form").onsubmit = (ev) => {
  ev.preventDefault();
  api("/console/api/channels/" + encodeURIComponent($("inspect-id").value.trim()))
    .then((r) => { $("inspect").textContent = JSON.stringify(r, null, 2); })
    .catch((e) => { $("inspect").textContent = e.message; });
};

$("inspect-user-form").onsubmit = (ev) => {
  ev.preventDefault();
  api("/console/api/users/" + encodeURIComponent($("inspect-user").value.trim()))
    .then((r) => { $("inspect").textContent = JSON.stringify(r, null, 2); })
    .catch((e) => { $("inspect").textContent = e.message; });
};

// ---- calls & live ----
function row(cells) {
  const tr = document.createElement("tr");
  for (const v of cells) {
    const td = document.createElement("td");
    if (v instanceof Node) td.appendChild(v); else td.textContent = v;
    tr.appendChild(td);
  }
  return tr;
}
const kbps = (b) => (b ? Math.round(b / 1000) + " kb/s" : "–");
const LAYER = ["q", "h", "f"];

async function loadRooms() {
  try {
    const r = await api("/console/api/rooms");
    const rows = [];
    let rooms = 0;
    for (const n of r.nodes) {
      for (const room of n.rooms) {
        rooms++;
        const label = room.id + (room.stage ? " (stage)" : "") + (room.incomplete ? " (busy: no details)" : "");
        if (!room.participants || room.participants.length === 0) { rows.push(row([n.node, label, "", "", "", ""])); continue; }
        for (const p of room.participants) {
          const who = p.user + " [" + p.role + (p.muted ? ", muted" : "") + (p.forced_muted ? " by moderator" : "") +
            (p.hand ? ", hand raised" : "") + (p.user === room.moderator ? ", moderator" : "") + "] " + p.session;
          if (p.tracks.length === 0) { rows.push(row([n.node, label, who, "–", "", ""])); continue; }
          for (const t of p.tracks) {
            const layers = t.layers.map((l) => (LAYER[l.layer] || l.layer) + " " + kbps(l.bitrate) + " " + l.packets + " pkts" +
              (l.lost ? " " + l.lost + " lost" : "")).join(" · ");
            const subs = t.subscribers.map((d) => d.user + " " + (d.layer < 0 ? "–" : LAYER[d.layer] || d.layer) +
              (d.paused ? " paused" : "") + (d.target !== d.layer && d.layer >= 0 ? " → " + LAYER[d.target] : "")).join(", ");
            rows.push(row([n.node, label, who, t.mid + " " + t.kind + " " + t.codec + (t.muted ? " (muted)" : ""), layers, subs]));
          }
        }
      }
    }
    $("rooms").tBodies[0].replaceChildren(...rows);
    $("rooms-status").textContent = r.nodes.length + " SFU node(s), " + rooms + " room(s)";
  } catch (e) { $("rooms-status").textContent = e.message; }
}
$("rooms-refresh").onclick = loadRooms;

function preview(url) {
  const v = $("preview-video");
  v.src = url;
  $("preview-url").href = url;
  $("preview-url").textContent = url;
  $("preview-note").textContent = v.canPlayType("application/vnd.apple.mpegurl") ? "" :
    "this browser does not play HLS natively (Safari does): open the URL in a player";
  $("preview").hidden = false;
}

async function loadStreams() {
  try {
    const r = await api("/console/api/streams");
    $("streams").tBodies[0].replaceChildren(...r.streams.map((s) => {
      const b = document.createElement("button");
      b.textContent = "Preview";
      b.disabled = !s.live;
      b.onclick = () => preview(s.playback_url);
      const i = s.ingest;
      return row([s.stream, s.owner, s.live ? "live" : "ended " + (s.ended_at || ""), s.started_at,
        s.viewers + " (" + s.hls_viewers + " + " + s.ws_viewers + ")", i ? kbps(i.bitrate) : "–",
        i ? i.fps.toFixed(1) : "–", i && i.keyframe_interval_ms ? (i.keyframe_interval_ms / 1000).toFixed(1) + " s" : "–", b]);
    }));
    $("streams-status").textContent = r.streams.length + " stream(s), " + r.ingest_nodes + " ingest server(s) answered";
  } catch (e) { $("streams-status").textContent = e.message; }
}
$("streams-refresh").onclick = loadStreams;

// ---- sign-in ----
$("login").onsubmit = (ev) => { ev.preventDefault(); signIn($("token").value); };
{
  const m = location.hash.match(/token=([^&]+)/); // #token=… never reaches the server or its logs
  if (m) { history.replaceState(null, "", location.pathname); signIn(decodeURIComponent(m[1])); }
  else if (sessionStorage.getItem("salam-console-token")) signIn(sessionStorage.getItem("salam-console-token"));
}
