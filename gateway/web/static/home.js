// The home page: one figure under each tile, read with the session cookie. A figure that
// cannot be read says so; the links work regardless. Plain JavaScript, no build step.
"use strict";

const T = window.TEXTS;
const TODAY = document.body.dataset.today; // the site's day, from the server

function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

async function read(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new Error("signed out");
  }
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

function show(id, words, warn) {
  const element = document.querySelector(`[data-figure="${id}"]`);
  if (!element) return;
  element.textContent = words;
  element.classList.toggle("warn", Boolean(warn));
}

const FIGURES = {
  async guard() {
    const [due, gates] = await Promise.all([read("/api/v1/patrols/due"), read("/api/v1/gates")]);
    const short = due.filter((checkpoint) => !checkpoint.compliant).length;
    const open = gates.filter((gate) => gate.staffed === false).length;
    const unknown = gates.filter((gate) => gate.staffed === null).length; // nothing heard yet
    const rounds = short ? fmt(T.a_fig_rounds, { n: short }) : T.a_fig_rounds_done;
    let posts = T.a_fig_gates_ok;
    if (open) posts = fmt(T.a_fig_gates_open, { n: open });
    else if (unknown) posts = fmt(T.a_fig_gates_unknown, { n: unknown });
    return [`${rounds} · ${posts}`, short > 0 || open > 0 || unknown > 0];
  },
  async police() {
    const alarms = await read("/api/v1/alarms?kind=emergency&limit=1000");
    const open = alarms.filter((alarm) => alarm.stage !== "closed").length;
    return [open ? fmt(T.a_fig_alarms, { n: open }) : T.a_fig_alarms_none, open > 0];
  },
  async tests() {
    const month = TODAY.slice(0, 7);
    const buttons = await read(`/api/v1/compliance/alarm-tests?month=${month}`);
    const passed = buttons.filter((button) => button.compliant).length;
    return [fmt(T.a_fig_tests, { passed, total: buttons.length }), false];
  },
};

for (const [id, figure] of Object.entries(FIGURES)) {
  if (!document.getElementById(`tile-${id}`)) continue;
  show(id, T.a_loading);
  figure()
    .then(([words, warn]) => show(id, words, warn))
    .catch(() => show(id, T.a_unavailable, true));
}
