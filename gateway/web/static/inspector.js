// The inspectors' pages (督导, 教育局; police and admins too): signing in and out, and the
// tabs. Each tab's section is read from the gateway when it is first shown, and again each
// time it is shown after that (the figures move during the day).
"use strict";

const TABS = {
  calendar: loadCalendar,
  tests: loadTestsSection,
  report: loadReportSummary,
  audit: async () => {}, // verification is heavy: it runs when asked
  ratings: loadRatings,
};
const DEFAULT_TAB = "calendar";

function tabFromHash() {
  const name = location.hash.slice(1);
  return name in TABS ? name : DEFAULT_TAB;
}

function showTab(name) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  for (const panel of document.querySelectorAll("[role=tabpanel]")) {
    panel.hidden = panel.id !== name;
  }
  TABS[name]().catch((error) => console.error(error));
}

function roleText(role) {
  return T[`i_role_${role}`] || role;
}

function signOut(message) {
  token = null;
  me = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ME_KEY);
  if ($("notice-dialog").open) $("notice-dialog").close();
  $("login").hidden = false;
  $("app").hidden = true;
  $("logout").hidden = true;
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${me.username} · ${roleText(me.role)}`;
  showTab(tabFromHash());
}

async function signIn(event) {
  event.preventDefault();
  const error = $("login-error");
  const say = (message) => {
    error.textContent = message;
    error.hidden = false;
  };
  let response;
  try {
    response = await fetch("/api/v1/auth/token", {
      method: "POST",
      body: new URLSearchParams(new FormData(event.target)),
    });
  } catch (failure) {
    say(T.i_err_network);
    return;
  }
  if (response.status === 401) {
    say(T.login_failed);
    return;
  }
  if (!response.ok) {
    say(await problemText(response));
    return;
  }
  const body = await response.json();
  if (!ALLOWED_ROLES.includes(body.role)) {
    // A guard's account works on the guard's page, not here: say where to go.
    say(body.role === "guard" ? T.i_not_for_guards : T.i_not_allowed);
    return;
  }
  error.hidden = true;
  token = body.access_token;
  me = { username: body.username, role: body.role };
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(ME_KEY, JSON.stringify(me));
  event.target.reset();
  start();
}

function setupTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      if (location.hash === `#${tab.dataset.tab}`) showTab(tab.dataset.tab);
      else location.hash = tab.dataset.tab; // the hashchange shows it
    });
    // Arrow keys move along the tabs, as screen-reader users expect of a tab list.
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      next.focus();
      next.click();
    });
  }
  window.addEventListener("hashchange", () => {
    if (token) showTab(tabFromHash());
  });
}

$("login").addEventListener("submit", signIn);
$("logout").addEventListener("click", () => signOut());
setupTabs();
setupCalendar();
setupTests();
setupNotices();
setupReport();
setupAudit();
setupRatings();
if (token && me) start();
