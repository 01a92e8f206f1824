// The inspectors' pages, part 4: announcing a button's test (报备测试), the notices still open
// (with a cancel), and the buttons due or overdue for their monthly test. A notice opens a
// window: the button's first press in it goes to the police as a test, not an emergency.
"use strict";

const CONFIRM_MS = 5000; // a cancel button waits this long for its second click
let noticeTarget = null; // {school_id, button_id, school_name, location} being announced

function buttonTitle(school, buttonId) {
  const known = buttonNames.get(buttonKey(school, buttonId));
  return known
    ? `${known.school_name} · ${known.location}`
    : `${schoolName(school)} · ${buttonId}`;
}

function windowText(notice) {
  const sameDay = notice.window_start.slice(0, 10) === notice.window_end.slice(0, 10);
  const end = sameDay ? wallClock(notice.window_end, false) : shortClock(notice.window_end);
  return fmt(T.i_window, { start: shortClock(notice.window_start), end });
}

function openNoticeForm(item) {
  noticeTarget = item;
  const form = $("notice-form");
  form.reset();
  clearError("notice-error");
  $("notice-button").textContent = fmt(T.i_notice_for, {
    button: `${item.school_name} · ${item.location}`,
    id: item.button_id,
  });
  $("notice-dialog").showModal();
  form.elements.police_officer.focus();
}

async function submitNotice(event) {
  event.preventDefault();
  const form = event.target;
  const submit = form.querySelector("button[type=submit]");
  const values = new FormData(form);
  const body = {
    school: noticeTarget.school_id,
    button: noticeTarget.button_id,
    window_minutes: Number(values.get("window_minutes")),
    police_officer: String(values.get("police_officer")).trim(),
    bureau_staff: String(values.get("bureau_staff")).trim(),
  };
  const note = String(values.get("note") || "").trim();
  if (note) body.note = note;
  submit.disabled = true;
  clearError("notice-error");
  try {
    const notice = await apiJson("/api/v1/alarm-tests/notices", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    $("notice-dialog").close();
    const done = $("notice-done");
    const title = buttonTitle(notice.school_id, notice.button_id);
    done.textContent = fmt(T.i_notice_done, { button: title, window: windowText(notice) });
    done.hidden = false;
    await loadNotices();
    done.scrollIntoView({ block: "nearest" });
  } catch (error) {
    showError("notice-error", error); // the form stays open with what was typed
  } finally {
    submit.disabled = false;
  }
}

function noticeCard(notice) {
  const card = el("article", "card notice-card card-warn");
  card.dataset.noticeId = notice.notice_id;
  card.dataset.state = notice.state;
  const head = el("div", "card-head");
  head.append(el("h4", "", buttonTitle(notice.school_id, notice.button_id)));
  head.append(el("span", "badge open", T.i_notice_state_open));
  card.append(head, el("p", "window", windowText(notice)));
  const people = [
    pair(T.i_police_officer, notice.police_officer || "—"),
    pair(T.i_bureau_staff, notice.bureau_staff || "—"),
    pair(T.i_opened_by, notice.opened_by),
  ];
  card.append(el("p", "meta", people.join(" · ")));
  if (notice.note) card.append(el("p", "meta", pair(T.i_note, notice.note)));
  const feedback = el("p", "error", "");
  feedback.setAttribute("role", "alert");
  feedback.hidden = true;
  const actions = el("div", "actions");
  actions.append(cancelButton(notice, feedback));
  card.append(actions, feedback);
  return card;
}

// Cancelling turns the next press back into an emergency: asked twice, never by accident.
function cancelButton(notice, feedback) {
  let armed = null;
  const cancel = button(T.i_notice_cancel, "notice-cancel", async () => {
    if (!armed) {
      cancel.textContent = T.i_notice_cancel_confirm;
      cancel.classList.add("danger");
      armed = setTimeout(() => {
        armed = null;
        cancel.textContent = T.i_notice_cancel;
        cancel.classList.remove("danger");
      }, CONFIRM_MS);
      return;
    }
    clearTimeout(armed);
    cancel.disabled = true;
    feedback.hidden = true;
    try {
      const path = `/api/v1/alarm-tests/notices/${encodeURIComponent(notice.notice_id)}/cancel`;
      await apiJson(path, { method: "POST" });
      $("notice-done").hidden = true;
      await loadNotices();
    } catch (error) {
      armed = null;
      cancel.disabled = false;
      cancel.textContent = T.i_notice_cancel;
      cancel.classList.remove("danger");
      feedback.textContent = error instanceof Shown ? error.message : T.i_err_page;
      feedback.hidden = false;
    }
  });
  return cancel;
}

async function loadNotices() {
  await guarded("notices-error", async () => {
    const notices = await apiJson("/api/v1/alarm-tests/notices");
    const open = notices.filter((notice) => notice.state === "open");
    $("notices-list").replaceChildren(...open.map(noticeCard));
    if (!open.length) $("notices-list").append(el("p", "meta empty", T.i_no_notices));
  });
}

function dueCard(item) {
  const card = el("article", `card due-card ${item.overdue ? "card-bad" : "card-warn"}`);
  card.dataset.school = item.school_id;
  card.dataset.button = item.button_id;
  card.dataset.month = item.month;
  const head = el("div", "card-head");
  head.append(el("h4", "", `${item.school_name} · ${item.location}`));
  const state = item.overdue ? T.i_overdue_short : item.due_soon ? T.i_due_soon_short : T.i_due_short;
  head.append(el("span", `badge ${item.overdue ? "bad" : "warn"}`, state));
  card.append(head);
  const facts = [item.month, fmt(T.i_passed_of, item)];
  if (!item.complete) facts.push(fmt(T.i_days_left, { n: item.days_left }));
  card.append(el("p", "meta", facts.join(" · ")));
  if (!item.complete) {
    const actions = el("div", "actions");
    actions.append(button(T.i_notice_open, "notice-open", () => openNoticeForm(item)));
    card.append(actions);
  }
  return card;
}

async function loadDue() {
  await guarded("due-error", async () => {
    const items = await apiJson("/api/v1/alarm-tests/due");
    rememberButtons(items);
    $("due-list").replaceChildren(...items.map(dueCard));
    if (!items.length) $("due-list").append(el("p", "meta empty", T.i_no_due));
  });
}

function setupNotices() {
  $("notice-form").addEventListener("submit", submitNotice);
  $("notice-close").addEventListener("click", () => $("notice-dialog").close());
}
