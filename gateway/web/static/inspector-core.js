// The inspectors' pages, part 1: what every section uses. Calling the API (the page is served
// to a signed-in account only: the session cookie goes with every request, and each carries
// the page's CSRF token), turning its refusals into plain words, and small helpers for times
// and months. Plain JavaScript, no build step; the sections' files are loaded after this one.
"use strict";

const T = window.TEXTS;
const $ = (id) => document.getElementById(id);
// The site's today (its time zone, from the server): the default month, days still to come.
const SITE_TODAY = document.body.dataset.today;
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
let leaving = false; // on the way to the sign-in page: nothing more to draw
// School id -> {name, district}, from whatever the gateway told us last.
const schoolNames = new Map();

/** An error worth showing as it is: its message is already in the reader's words. */
class Shown extends Error {}

function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function el(tag, className, content) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (content !== undefined && content !== null) element.textContent = String(content);
  return element;
}

function button(label, className, onClick) {
  const element = el("button", className, label);
  element.type = "button";
  if (onClick) element.addEventListener("click", onClick);
  return element;
}

// The session has ended (expired, or signed out elsewhere): sign in again, then come back
// here, to the same tab.
function toSignIn() {
  if (leaving) return;
  leaving = true;
  if ($("notice-dialog").open) $("notice-dialog").close();
  const here = location.pathname + location.search + location.hash;
  const lang = document.documentElement.lang === "en" ? "en" : "zh";
  location.assign(`/login?next=${encodeURIComponent(here)}&lang=${lang}`);
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {}, { "X-CSRF-Token": CSRF });
  let response;
  try {
    response = await fetch(
      path,
      Object.assign({}, options, { headers, credentials: "same-origin" }),
    );
  } catch (error) {
    throw new Shown(T.i_err_network);
  }
  if (response.status === 401) {
    toSignIn();
    throw new Shown(T.i_err_signed_out);
  }
  return response;
}

// FastAPI's refusal in plain words: its `detail` is a sentence, or a list of {loc, msg}
// (validation), each said with the name of the field the reader filled in.
async function problemText(response) {
  const body = await response.json().catch(() => null);
  const detail = body && typeof body === "object" ? body.detail : null;
  const status = response.status;
  if (status === 403) return T.i_err_forbidden;
  if (Array.isArray(detail) && detail.some((item) => item && typeof item.msg === "string")) {
    return detail
      .filter((item) => item && typeof item.msg === "string")
      .map((item) => {
        const field = Array.isArray(item.loc) ? item.loc[item.loc.length - 1] : "";
        const label = T[`i_field_${field}`];
        return label
          ? fmt(T.i_field_problem, { field: label, reason: item.msg })
          : fmt(T.i_err_invalid, { reason: item.msg });
      })
      .join(T.i_list_sep);
  }
  const said = typeof detail === "string" ? detail : "";
  // Not Found in FastAPI's own words: this gateway has no such page (an older version).
  if (status === 404 && (!said || said === "Not Found")) return T.i_err_missing;
  if (status >= 500) return fmt(T.i_err_server, { status });
  if (status === 422) return fmt(T.i_err_invalid, { reason: said || response.statusText });
  return fmt(T.i_err_refused, { reason: said || `${status} ${response.statusText}` });
}

async function apiJson(path, options) {
  const response = await api(path, options);
  if (!response.ok) throw new Shown(await problemText(response));
  try {
    return await response.json();
  } catch (error) {
    throw new Shown(fmt(T.i_err_server, { status: response.status }));
  }
}

function showError(id, error) {
  const box = $(id);
  // A bug of ours is said plainly too, and written to the console for whoever debugs it.
  if (!(error instanceof Shown)) console.error(error);
  box.textContent = error instanceof Shown ? error.message : T.i_err_page;
  box.hidden = false;
}

function clearError(id) {
  $(id).hidden = true;
  $(id).textContent = "";
}

// Run a section's work with its error line: cleared first, filled if it fails.
async function guarded(errorId, work) {
  clearError(errorId);
  try {
    await work();
  } catch (error) {
    showError(errorId, error);
  }
}

// Times are shown on the site's clock (its zone comes with the page), whatever the zone of
// the inspector's computer: the gateway's RFC 3339 times carry their offset, so any is fine.
const SITE_ZONE = document.body.dataset.zone;
let siteFormat = null;

function siteParts(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  if (!siteFormat) {
    siteFormat = new Intl.DateTimeFormat("en-GB", {
      timeZone: SITE_ZONE,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  }
  return Object.fromEntries(siteFormat.formatToParts(date).map((p) => [p.type, p.value]));
}

function wallClock(iso, withDate = true) {
  const p = iso ? siteParts(iso) : null;
  if (!p) return "—";
  const time = `${p.hour}:${p.minute}`;
  return withDate ? `${p.year}-${p.month}-${p.day} ${time}:${p.second}` : time;
}

function shortClock(iso) {
  const p = iso ? siteParts(iso) : null;
  return p ? `${p.month}-${p.day} ${p.hour}:${p.minute}` : "—";
}

function seconds(value) {
  if (value === null || value === undefined) return "—";
  // A police receipt takes a fraction of a second: tenths would say "0.0".
  return fmt(T.i_seconds, { n: value.toFixed(value < 10 ? 2 : 1) });
}

const thisMonth = () => SITE_TODAY.slice(0, 7);

// The site's yesterday, the last complete day: the report and the rating default to its
// month and quarter, as the gateway does.
function siteYesterday() {
  const [year, month, day] = SITE_TODAY.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day - 1)).toISOString().slice(0, 10);
}

function shiftMonth(month, by) {
  const [year, number] = month.split("-").map(Number);
  const index = year * 12 + (number - 1) + by;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
}

function daysIn(month) {
  const [year, number] = month.split("-").map(Number);
  return new Date(Date.UTC(year, number, 0)).getUTCDate();
}

function validMonth(value) {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(value);
}

// A ratio {done, required}: "2/3", and its share (null when nothing was required).
function share(ratio) {
  if (!ratio || !ratio.required) return null;
  return ratio.done / ratio.required;
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

function ratioText(ratio) {
  if (!ratio || typeof ratio !== "object") return "—";
  if (!ratio.required) return T.i_not_applicable;
  const value = typeof ratio.value === "number" ? ratio.value : share(ratio);
  return fmt(T.i_ratio, { done: ratio.done, required: ratio.required, pct: percent(value) });
}

function pair(label, value) {
  return fmt(T.i_pair, { label, value });
}

function schoolName(id) {
  const known = schoolNames.get(id);
  return known ? known.name : id;
}

function learnSchool(id, name, district) {
  if (!id || !name) return;
  const known = schoolNames.get(id) || {};
  schoolNames.set(id, { name, district: district ?? known.district ?? null });
}
