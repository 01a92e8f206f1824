// The inspectors' pages (督导, 教育局; police and admins too): the tabs. Each tab's section is
// read from the gateway when it is first shown, and again each time it is shown after that
// (the figures move during the day).
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
  // The other language, on the same tab.
  const otherLanguage = document.querySelector("nav.account a.lang");
  if (otherLanguage) otherLanguage.hash = name;
  TABS[name]().catch((error) => console.error(error));
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
    if (!leaving) showTab(tabFromHash());
  });
}

setupTabs();
setupCalendar();
setupTests();
setupNotices();
setupReport();
setupAudit();
setupRatings();
showTab(tabFromHash());
// Back to this page from the browser's history (after signing out, say): the copy it kept
// is not shown as it was; the server says afresh whether there is a session.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});
