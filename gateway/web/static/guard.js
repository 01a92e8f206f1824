// The guard's phone page: scan a checkpoint (live camera, a photo, or an NFC tag), check in
// and out of the gate post, and see the rounds due today. Plain JavaScript, no build step.
// Whatever cannot be sent for want of a network is kept in localStorage with its time and id
// and sent when the network is back: the gateway counts it at its time, and once per id.
// The page is served to a signed-in guard only: the session cookie goes with every request,
// and each request carries the page's CSRF token.
"use strict";

const T = window.TEXTS;
const $ = (id) => document.getElementById(id);
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const QUEUE_PREFIX = "campus-guard-queue:"; // + the guard: never sent under someone else's name
const FRAME_MS = 600; // one camera frame to the gateway this often
const FRAME_SIDE = 960; // frames are sent at most this long (the code needs ~3 px a module)
const OFFLINE_FRAMES = 6; // frames kept per scanning session while there is no network
const PHOTO_SIDE = 1600; // photos kept offline are scaled to this (the gateway reads at it)
const REFRESH_MS = 60_000;

const me = window.ME; // {username, role, school_id, station, district}
let due = [];
let scans = []; // today's records as last read
let camera = null; // the live scanning session: {id, stream, stopped, offlineFrames}
let opening = false; // the camera is being asked for
let nfc = null; // the AbortController of a running NFC scan
let timer = null;
let online = true;
let flushing = false;
let leaving = false; // on the way to the sign-in page: nothing more to send or draw

class Offline extends Error {}
class SignedOut extends Error {}

function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

// A client id for a scan or a check-in ([A-Za-z0-9_.:-]); works without HTTPS too.
function newId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "g" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The gateway sends times in the site's zone: show its wall clock, whatever the phone's zone.
function clock(iso, seconds) {
  return iso ? iso.slice(11, seconds ? 19 : 16) : "";
}

// Now, RFC 3339 with the phone's own offset (the time a kept scan was made).
function nowIso() {
  const now = new Date();
  const offset = -now.getTimezoneOffset();
  const pad = (n, width = 2) => String(Math.abs(n)).padStart(width, "0");
  const local = new Date(now.getTime() + offset * 60_000).toISOString().slice(0, 23);
  return `${local}${offset < 0 ? "-" : "+"}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

function setOnline(value) {
  const was = online;
  online = value;
  $("offline").hidden = value;
  if (value && !was) flush();
}

// The session has ended (expired, or signed out elsewhere): sign in again, then come back
// here. What waits in the queue stays on the phone under the guard's name, sent after.
function toSignIn() {
  if (leaving) return;
  leaving = true;
  stopCamera();
  stopNfc();
  if (timer) clearInterval(timer);
  timer = null;
  const here = location.pathname + location.search + location.hash;
  const lang = document.documentElement.lang === "en" ? "en" : "zh";
  location.assign(`/login?next=${encodeURIComponent(here)}&lang=${lang}`);
}

async function api(path, options = {}) {
  if (leaving) throw new SignedOut("signed out");
  const headers = Object.assign({}, options.headers || {}, { "X-CSRF-Token": CSRF });
  let response;
  try {
    response = await fetch(
      path,
      Object.assign({}, options, { headers, credentials: "same-origin" }),
    );
  } catch (error) {
    setOnline(false);
    throw new Offline(String(error));
  }
  if (response.status === 401) {
    toSignIn();
    throw new SignedOut("signed out");
  }
  setOnline(true);
  return response;
}

// What went wrong, in words: FastAPI's detail (a string, or a list of {msg}).
async function problem(response) {
  const body = await response.json().catch(() => ({}));
  if (typeof body.detail === "string") return body.detail;
  if (Array.isArray(body.detail) && body.detail.length) return body.detail[0].msg;
  return `${response.status} ${response.statusText}`;
}

// ---- The result box: what happened to the last scan, big and clear --------------------------

function showResult(outcome, title, detail) {
  const box = $("result");
  box.dataset.outcome = outcome;
  box.setAttribute("role", outcome === "refused" || outcome === "error" ? "alert" : "status");
  $("result-title").textContent = title;
  $("result-detail").textContent = detail || "";
  $("result-detail").hidden = !detail;
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

function reasonText(scan) {
  // The gateway's message is Chinese (the guards' language); English from the page's own words.
  if (document.documentElement.lang !== "en" || !scan.reason) return scan.message;
  return T[`g_reason_${scan.reason}`] || scan.message;
}

function counts() {
  return Object.fromEntries(due.map((d) => [d.checkpoint_id, d.patrols]));
}

async function showScan(scan, before) {
  await refresh();
  if (!scan.accepted) {
    const title = fmt(T.g_refused, { reason: reasonText(scan) });
    showResult("refused", title, clock(scan.scanned_at, true));
    return;
  }
  const name = scan.checkpoint_name || scan.checkpoint_id || "";
  const item = due.find((d) => d.checkpoint_id === scan.checkpoint_id);
  const title = item
    ? fmt(T.g_recorded_count, { name, n: item.patrols, m: item.required })
    : `${name} ${T.g_recorded}`;
  const notes = [clock(scan.scanned_at, true)];
  if (scan.already_recorded) notes.push(T.g_already);
  else if (scan.counted === false) notes.push(T.g_not_counted);
  else if (scan.counted == null && item && item.patrols === before[scan.checkpoint_id]) {
    notes.push(T.g_not_counted); // an answer without `counted`: tell by the count
  }
  showResult("accepted", title, notes.join(" · "));
}

// The `type` of a 422's first problem: `no_qr_code` means "nothing readable in the picture".
async function problemType(response) {
  try {
    const body = await response.json();
    return Array.isArray(body.detail) && body.detail[0] ? body.detail[0].type : null;
  } catch (error) {
    return null;
  }
}

// ---- What is due, the gate posts, today's records -------------------------------------------

function roundChip(round) {
  const chip = text("li", clock(round.due_at), `round ${round.status}`);
  chip.dataset.status = round.status;
  chip.title = `${clock(round.due_at)} ${T[`g_round_${round.status}`]}`;
  chip.setAttribute("aria-label", chip.title);
  return chip;
}

function dueCard(item) {
  const card = document.createElement("article");
  card.className = `card due-card ${item.status || "over"}`;
  card.dataset.checkpointId = item.checkpoint_id;
  card.dataset.patrols = String(item.patrols);
  card.dataset.status = item.status || "";
  const head = document.createElement("div");
  head.className = "card-head";
  head.append(text("h3", item.checkpoint_name));
  const count = fmt(T.g_today, { n: item.patrols, m: item.required });
  head.append(text("p", count, item.compliant ? "count compliant" : "count"));
  card.append(head);
  if (item.status === "due") {
    card.append(text("p", fmt(T.g_due_now, { time: clock(item.next_due_at) }), "next now"));
  } else if (item.status === "upcoming") {
    card.append(text("p", fmt(T.g_next_round, { time: clock(item.next_due_at) }), "next"));
  } else {
    card.append(text("p", T.g_rounds_over, "next"));
  }
  if (item.overdue) card.append(text("p", fmt(T.g_overdue, { n: item.overdue }), "missed"));
  const notes = [];
  if (item.compliant) notes.push(T.g_compliant);
  if (item.last_scan_at) notes.push(fmt(T.g_last_scan, { time: clock(item.last_scan_at) }));
  if (notes.length) card.append(text("p", notes.join(" · "), "meta"));
  const rounds = document.createElement("ol");
  rounds.className = "rounds";
  rounds.append(...item.rounds.map(roundChip));
  card.append(rounds);
  return card;
}

function renderDue(items) {
  due = items;
  const order = { due: 0, upcoming: 1 };
  const sorted = [...items].sort(
    (a, b) =>
      (order[a.status] ?? 2) - (order[b.status] ?? 2) ||
      (a.next_due_at || "").localeCompare(b.next_due_at || ""),
  );
  $("due").replaceChildren(...sorted.map(dueCard));
  if (!items.length) $("due").append(text("p", T.g_no_checkpoints, "meta"));
}

function gateCard(gate) {
  const card = document.createElement("article");
  card.className = "card gate-card";
  card.dataset.gateId = gate.gate_id;
  card.dataset.staffed = String(gate.staffed);
  const head = document.createElement("div");
  head.className = "card-head";
  head.append(text("h3", gate.gate_name));
  let state = T.g_unknown;
  let stateClass = "unknown";
  if (gate.staffed === true) {
    state = `${T.g_staffed} · ${fmt(T.g_since, { time: clock(gate.since) })}`;
    stateClass = "staffed";
  } else if (gate.staffed === false) {
    const minutes = Math.floor(gate.unstaffed_for_s / 60);
    state = `${T.g_unstaffed} · ${fmt(T.g_unstaffed_for, { n: minutes })}`;
    stateClass = "unstaffed";
  }
  head.append(text("p", state, `state ${stateClass}`));
  card.append(head);
  if (gate.alert_active) card.append(text("p", T.g_gate_alert, "alert"));
  const feedback = text("p", "", "feedback");
  feedback.setAttribute("role", "status");
  feedback.hidden = true;
  const actions = document.createElement("div");
  actions.className = "actions";
  const steps = [
    ["check-in", T.g_check_in, true],
    ["check-out", T.g_check_out, false],
  ];
  for (const [action, label, staffed] of steps) {
    // The step he is likely to take next stands out: check in unless he is on post.
    const next = staffed === (gate.staffed !== true);
    const button = text("button", label, next ? "primary" : "");
    button.type = "button";
    button.dataset.action = action;
    button.addEventListener("click", () => check(gate, action, button, feedback));
    actions.append(button);
  }
  card.append(actions, feedback);
  return card;
}

async function check(gate, action, button, feedback) {
  button.disabled = true;
  const item = {
    kind: "check",
    id: newId(),
    at: nowIso(),
    school_id: gate.school_id,
    gate_id: gate.gate_id,
    gate_name: gate.gate_name,
    action,
  };
  let message;
  try {
    const response = await send(item, false);
    message = response.ok
      ? fmt(action === "check-in" ? T.g_checked_in : T.g_checked_out, { gate: gate.gate_name })
      : fmt(T.g_failed, { reason: await problem(response) });
  } catch (error) {
    if (!(error instanceof Offline)) throw error;
    message = enqueue(item) ? T.g_queued : T.g_error;
  } finally {
    button.disabled = false;
  }
  await refresh();
  // The card was drawn again: say it on the new one.
  const selector = `.gate-card[data-gate-id="${CSS.escape(gate.gate_id)}"] .feedback`;
  const fresh = document.querySelector(selector);
  const target = fresh || feedback;
  target.textContent = message;
  target.hidden = false;
}

function renderGates(gates) {
  $("gates").replaceChildren(...gates.map(gateCard));
  if (!gates.length) $("gates").append(text("p", T.g_no_gates, "meta"));
  if (gates.length) $("school").textContent = gates[0].school_name;
}

function recordItem(scan) {
  const item = document.createElement("li");
  item.className = `record ${scan.accepted ? "accepted" : "refused"}`;
  item.dataset.accepted = String(scan.accepted);
  item.dataset.reason = scan.reason || "";
  item.append(text("span", clock(scan.scanned_at, true), "time"));
  item.append(text("span", scan.checkpoint_name || "—", "name"));
  item.append(text("span", T[`g_source_${scan.source}`] || scan.source, "source"));
  const message = scan.accepted ? `✓ ${T.g_recorded}` : `✗ ${reasonText(scan)}`;
  item.append(text("span", message, "message"));
  return item;
}

function pendingItem(entry) {
  const item = document.createElement("li");
  item.className = "record pending";
  item.dataset.accepted = "pending";
  item.append(text("span", clock(entry.at, true), "time"));
  if (entry.kind === "check") {
    const action = entry.action === "check-in" ? T.g_check_in : T.g_check_out;
    item.append(text("span", `${entry.gate_name} ${action}`, "name"), text("span", "", "source"));
  } else {
    const source = entry.kind === "photo" && !entry.live ? T.g_source_photo : T.g_source_phone;
    item.append(text("span", "—", "name"), text("span", source, "source"));
  }
  item.append(text("span", `… ${T.g_pending_record}`, "message"));
  return item;
}

function renderRecords(list) {
  scans = list;
  const seen = new Set();
  const pending = queued().filter((i) => !seen.has(i.id) && seen.add(i.id));
  const items = [...pending.reverse().map(pendingItem), ...[...list].reverse().map(recordItem)];
  $("records").replaceChildren(...items);
  if (!items.length) $("records").append(text("li", T.g_no_records, "record empty"));
}

async function refresh() {
  const [dueResult, gatesResult, scansResult] = await Promise.allSettled([
    api("/api/v1/patrols/due").then((r) => (r.ok ? r.json() : Promise.reject(r))),
    api("/api/v1/gates").then((r) => (r.ok ? r.json() : Promise.reject(r))),
    api("/api/v1/patrols/scans").then((r) => (r.ok ? r.json() : Promise.reject(r))),
  ]);
  if (leaving) return; // signed out meanwhile
  if (dueResult.status === "fulfilled") renderDue(dueResult.value);
  if (gatesResult.status === "fulfilled") renderGates(gatesResult.value);
  if (scansResult.status === "fulfilled") renderRecords(scansResult.value);
  showPending();
}

// ---- Starting -------------------------------------------------------------------------

async function start() {
  $("nfc").hidden = !("NDEFReader" in window);
  showPending();
  await refresh();
  flush();
  timer = setInterval(() => {
    refresh().catch(() => {});
    flush();
  }, REFRESH_MS);
}

const failed = (error) => showResult("error", T.g_error, String(error));
$("scan").addEventListener("click", () => startCamera().catch(failed));
$("cancel").addEventListener("click", stopCamera);
$("nfc").addEventListener("click", () => startNfc().catch(failed));
$("photo").addEventListener("change", (event) => {
  const file = event.target.files[0];
  event.target.value = ""; // the same photo may be chosen again
  if (file) uploadPhoto(file).catch(failed);
});
window.addEventListener("online", () => flush());
window.addEventListener("offline", () => setOnline(false));
document.addEventListener("visibilitychange", () => {
  if (document.hidden) stopCamera(); // the camera is not left running in a pocket
  else if (!leaving) refresh().catch(() => {});
});
// Back to this page from the browser's history (after signing out, say): the copy it kept
// is not shown as it was; the server says afresh whether there is a session.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});
start().catch((error) => {
  if (!(error instanceof SignedOut)) showResult("error", T.g_error, String(error));
});
