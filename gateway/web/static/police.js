// The police console: list the alarms, follow the live feed, move alarms on. The page is
// served to a signed-in officer only: the session cookie goes with every request, and each
// request carries the page's CSRF token. Plain JavaScript, no build step: it must keep
// working on the duty room's old PC.
"use strict";

const T = window.TEXTS;
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const STAGES = ["new", "acknowledged", "dispatched", "on_scene", "closed"];
const FEED_RETRY_MS = 5_000;
const $ = (id) => document.getElementById(id);
let schools = {};
let feed = null;
let seen = new Set();
let audio = null;
let leaving = false; // on the way to the sign-in page: nothing more to draw

// The session has ended (expired, or signed out elsewhere): sign in again, then come back here.
function toSignIn() {
  if (leaving) return;
  leaving = true;
  if (feed) feed.close();
  const here = location.pathname + location.search + location.hash;
  const lang = document.documentElement.lang === "en" ? "en" : "zh";
  location.assign(`/login?next=${encodeURIComponent(here)}&lang=${lang}`);
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {}, { "X-CSRF-Token": CSRF });
  const response = await fetch(
    path,
    Object.assign({}, options, { headers, credentials: "same-origin" }),
  );
  if (response.status === 401) {
    toSignIn();
    throw new Error("signed out");
  }
  return response;
}

// The alarm sound needs the browser's leave: a click on the page. Until one comes (the page
// was opened or reloaded without a click), a button says so; any click on the page will do.
function setupSound() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  try {
    audio = new Context();
  } catch (error) {
    console.warn("no sound", error);
    return;
  }
  const show = () => {
    $("sound").hidden = audio.state === "running" || audio.state === "closed";
  };
  audio.onstatechange = show;
  const unlock = () => {
    if (audio.state !== "running") audio.resume().then(show, show);
  };
  document.addEventListener("click", unlock, true);
  document.addEventListener("keydown", unlock, true);
  document.addEventListener("touchend", unlock, true);
  show();
}

// A short two-tone alarm sound (no file to fetch); heard once the page has had a click.
function beep() {
  if (!audio) return;
  try {
    [880, 660, 880].forEach((frequency, i) => {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.value = 0.2;
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(audio.currentTime + i * 0.25);
      oscillator.stop(audio.currentTime + i * 0.25 + 0.2);
    });
  } catch (error) {
    console.warn("no sound", error);
  }
}

function cue() {
  document.body.dataset.alerting = String(Number(document.body.dataset.alerting) + 1);
  beep();
}

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

async function showPicture(container, alarmId) {
  const response = await api(`/api/v1/alarms/${encodeURIComponent(alarmId)}/snapshot`);
  container.replaceChildren();
  if (!response.ok) {
    container.append(text("p", T.no_picture, "meta"));
    return;
  }
  const image = document.createElement("img");
  image.alt = alarmId;
  image.src = URL.createObjectURL(await response.blob());
  container.append(image);
}

function card(alarm) {
  const school = schools[alarm.school_id] || { name: alarm.school_name, contacts: [] };
  const article = document.createElement("article");
  article.className = `alarm ${alarm.kind} ${alarm.stage}`;
  article.dataset.alarmId = alarm.alarm_id;
  article.dataset.stage = alarm.stage;
  if (!seen.has(alarm.alarm_id) && alarm.stage === "new") article.classList.add("flash");
  article.append(text("h2", `${T[alarm.kind]} · ${alarm.school_name} · ${alarm.location}`));
  article.append(text("p", `${T[alarm.stage]}`, "stage"));
  const pressed = new Date(alarm.occurred_at).toLocaleString(document.documentElement.lang);
  article.append(text("p", `${T.pressed_at} ${pressed} · ${alarm.device_id}`, "meta"));
  if (school.address) article.append(text("p", `${T.address} ${school.address}`, "meta"));
  if (school.contacts && school.contacts.length) {
    const people = school.contacts.map((c) => `${c.role ? c.role + " " : ""}${c.name} ${c.phone}`);
    article.append(text("p", `${T.contacts} ${people.join("；")}`, "meta"));
  }
  if (!alarm.delivered) article.append(text("p", T.delivery_pending, "warn"));
  if (alarm.escalated_at) {
    const at = new Date(alarm.escalated_at).toLocaleTimeString(document.documentElement.lang);
    article.append(text("p", `${T.escalated} ${at}`, "warn escalated"));
  }
  const picture = document.createElement("div");
  picture.className = "picture";
  article.append(picture);
  showPicture(picture, alarm.alarm_id);
  const actions = document.createElement("div");
  actions.className = "actions";
  const current = STAGES.indexOf(alarm.stage);
  STAGES.slice(current + 1).forEach((stage, i) => {
    const button = text("button", T[`do_${stage}`], i === 0 ? "primary" : "");
    button.type = "button";
    button.dataset.stage = stage;
    button.addEventListener("click", () => act(alarm.alarm_id, stage));
    actions.append(button);
  });
  article.append(actions);
  return article;
}

async function act(alarmId, stage) {
  const response = await api(`/api/v1/alarms/${encodeURIComponent(alarmId)}/actions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ stage }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    alert(typeof body.detail === "string" ? body.detail : response.statusText);
  }
  await load();
}

async function load() {
  const [alarmsResponse, schoolsResponse] = await Promise.all([
    api("/api/v1/alarms?limit=50"),
    api("/api/v1/schools"),
  ]);
  schools = Object.fromEntries((await schoolsResponse.json()).map((s) => [s.id, s]));
  const alarms = await alarmsResponse.json();
  // Open alarms first (the oldest open one on top: it has waited longest), then the rest.
  const open = alarms.filter((a) => a.stage !== "closed").reverse();
  const done = alarms.filter((a) => a.stage === "closed");
  const list = $("alarms");
  list.replaceChildren(...[...open, ...done].map(card));
  if (!alarms.length) list.append(text("p", T.no_alarms, "meta"));
  alarms.forEach((a) => seen.add(a.alarm_id));
}

function follow() {
  if (feed) feed.close();
  if (leaving) return;
  feed = new EventSource("/api/v1/live"); // the session cookie goes with it
  feed.addEventListener("ready", () => {
    $("status").hidden = false;
    $("offline").hidden = true;
    load().catch(() => {});
  });
  feed.addEventListener("alarm", () => {
    cue();
    load().catch(() => {});
  });
  feed.addEventListener("escalation", () => {
    cue(); // nobody at the centre has it yet: the duty officer must hear it again
    load().catch(() => {});
  });
  // The account was disabled, removed or changed while the feed was open: to sign-in.
  feed.addEventListener("signed_out", () => {
    feed.close();
    toSignIn();
  });
  for (const topic of ["alarm_action", "snapshot", "delivery"]) {
    feed.addEventListener(topic, () => load().catch(() => {}));
  }
  feed.onerror = () => {
    $("status").hidden = true;
    $("offline").hidden = false;
    // A lost connection is reconnected by EventSource itself; a refusal (the session ended)
    // closes it for good: ask whether we are still signed in, and open it again if so.
    if (feed.readyState !== EventSource.CLOSED) return;
    const closed = feed;
    setTimeout(() => {
      if (feed !== closed || leaving) return;
      api("/api/v1/auth/me").then(follow, () => setTimeout(follow, FEED_RETRY_MS));
    }, FEED_RETRY_MS);
  };
}

// Back to this page from the browser's history (after signing out, say): the copy it kept
// is not shown as it was; the server says afresh whether there is a session.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});

setupSound();
load().catch((error) => console.warn(error));
follow();
