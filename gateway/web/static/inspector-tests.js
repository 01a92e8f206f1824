// The inspectors' pages, part 3: the alarm buttons' test logs (设备测试记录). Per button, the
// month's tests with every police receipt (open a test to see them), the testers and the
// result; filters by month, school, result and "untested only". Each button can be
// announced for a test (报备测试): the form is in inspector-notices.js.
"use strict";

let buttons = []; // the month's buttons as last read (AlarmTestMonthOut)

function buttonKey(school, button) {
  return `${school}/${button}`;
}

// school/button -> {school_name, location}: for the notices, which carry ids only.
const buttonNames = new Map();

function resultBadge(result) {
  return el("span", `badge result-${result}`, T[`i_result_${result}`] || result);
}

function receiptsTable(receipts) {
  if (!receipts.length) return el("p", "meta", T.i_no_receipts);
  const table = el("table", "grid receipts");
  const head = el("tr");
  for (const label of [T.i_endpoint, T.i_acknowledged_at, T.i_latency, T.i_attempts]) {
    head.append(el("th", "", label));
  }
  table.append(head);
  for (const receipt of receipts) {
    const row = el("tr", receipt.acknowledged_at ? "acked" : "unacked");
    row.dataset.endpoint = receipt.endpoint_id;
    row.append(
      el("td", "", receipt.endpoint_id),
      el("td", "", receipt.acknowledged_at ? wallClock(receipt.acknowledged_at) : T.i_not_acked),
      el("td", "", seconds(receipt.latency_s)),
      el("td", "", receipt.attempts),
    );
    table.append(row);
  }
  const scroller = el("div", "scroller");
  scroller.append(table);
  return scroller;
}

function testDetails(test) {
  const details = el("details", `test result-${test.result}`);
  details.dataset.alarmId = test.alarm_id;
  details.dataset.result = test.result;
  const summary = el("summary");
  summary.append(el("span", "time", wallClock(test.occurred_at)), resultBadge(test.result));
  if (test.receipt_latency_s !== null && test.receipt_latency_s !== undefined) {
    summary.append(el("span", "meta", fmt(T.i_receipt_in, { s: seconds(test.receipt_latency_s) })));
  }
  details.append(summary);
  const facts = el("dl", "facts");
  const fact = (term, value) => facts.append(el("dt", "", term), el("dd", "", value));
  fact(T.i_pressed_at, wallClock(test.occurred_at));
  fact(T.i_received_at, wallClock(test.received_at));
  const testers = [
    test.police_officer && pair(T.i_police_officer, test.police_officer),
    test.bureau_staff && pair(T.i_bureau_staff, test.bureau_staff),
  ].filter(Boolean);
  fact(T.i_testers, testers.length ? testers.join(T.i_list_sep) : T.i_testers_unknown);
  fact(T.i_notice, test.notice_id ? T.i_notice_yes : T.i_notice_no);
  if (test.note) fact(T.i_note, test.note);
  details.append(facts, el("h4", "", T.i_receipts), receiptsTable(test.receipts || []));
  return details;
}

function statusBadge(item) {
  if (item.compliant) return el("span", "badge ok", fmt(T.i_compliant, item));
  if (!item.tests.length) return el("span", "badge bad", T.i_untested);
  return el("span", "badge bad", fmt(T.i_not_compliant, item));
}

function buttonCard(item) {
  const card = el("article", `card button-card ${item.compliant ? "card-ok" : "card-bad"}`);
  card.dataset.school = item.school_id;
  card.dataset.button = item.button_id;
  card.dataset.tests = String(item.tests.length);
  const head = el("div", "card-head");
  head.append(el("h4", "", `${item.school_name} · ${item.location}`), statusBadge(item));
  card.append(head);
  const facts = [
    fmt(T.i_button_id, { id: item.button_id, zone: item.zone }),
    fmt(T.i_test_count, { n: item.tests.length }),
  ];
  if (!item.complete) facts.push(fmt(T.i_days_left, { n: item.days_left }));
  card.append(el("p", "meta", facts.join(" · ")));
  if (item.overdue) card.append(el("p", "warn", T.i_overdue));
  else if (item.due_soon) card.append(el("p", "warn", T.i_due_soon));
  for (const test of item.tests) card.append(testDetails(test));
  const actions = el("div", "actions");
  actions.append(button(T.i_notice_open, "notice-open", () => openNoticeForm(item)));
  card.append(actions);
  return card;
}

function matches(item) {
  const result = $("tests-result").value;
  if ($("tests-untested").checked && item.tests.length) return false;
  if (result && !item.tests.some((test) => test.result === result)) return false;
  return true;
}

function renderTests() {
  const shown = buttons.filter(matches);
  $("tests-list").replaceChildren(...shown.map(buttonCard));
  const compliant = buttons.filter((item) => item.compliant).length;
  const untested = buttons.filter((item) => !item.tests.length).length;
  let summary = fmt(T.i_tests_summary, { n: buttons.length, ok: compliant, untested });
  if (shown.length !== buttons.length) summary += ` · ${fmt(T.i_shown, { n: shown.length })}`;
  $("tests-summary").textContent = summary;
  if (!shown.length) $("tests-list").append(el("p", "meta empty", T.i_no_buttons));
}

function rememberButtons(items) {
  for (const item of items) {
    learnSchool(item.school_id, item.school_name);
    buttonNames.set(buttonKey(item.school_id, item.button_id), item);
  }
  fillSchools();
}

function fillSchools() {
  const select = $("tests-school");
  const chosen = select.value;
  const options = [...schoolNames.entries()].map(([id, school]) => {
    const option = el("option", "", school.name);
    option.value = id;
    return option;
  });
  select.replaceChildren(select.options[0], ...options);
  select.value = chosen;
}

async function loadTests() {
  const month = $("tests-month").value;
  const school = $("tests-school").value;
  await guarded("tests-error", async () => {
    if (!validMonth(month)) throw new Shown(T.i_err_month);
    const query = new URLSearchParams({ month });
    if (school) query.set("school", school);
    let items;
    try {
      items = await apiJson(`/api/v1/compliance/alarm-tests?${query}`);
    } catch (error) {
      buttons = [];
      $("tests-list").replaceChildren();
      $("tests-summary").textContent = "";
      throw error;
    }
    if ($("tests-month").value !== month || $("tests-school").value !== school) return;
    rememberButtons(items);
    buttons = items;
    renderTests();
  });
}

async function loadTestsSection() {
  await Promise.all([loadTests(), loadNotices(), loadDue()]);
}

function setupTests() {
  const month = $("tests-month");
  month.value = thisMonth();
  month.max = thisMonth();
  month.addEventListener("change", loadTests);
  $("tests-school").addEventListener("change", loadTests);
  $("tests-result").addEventListener("change", renderTests);
  $("tests-untested").addEventListener("change", renderTests);
}
