// The inspectors' pages, part 2: the compliance calendar (合规日历). One row per school, one
// cell per day, coloured by the share of that day's items met (gate staffing and key-area
// patrols); the month's alarm tests at the end of the row. A cell or a school opens numbers.
"use strict";

const WEEKDAYS = () => T.i_weekdays.split(",");
let calendar = { month: null, schools: [] };

// The level of a day: its items met (gates staffed, key checkpoints patrolled) of those judged.
function dayLevel(day, date) {
  if (date > SITE_TODAY || !day) return { level: "none", value: null };
  const items = [day.gate, day.patrols].filter(Boolean);
  const required = items.reduce((sum, item) => sum + item.required, 0);
  if (!required) return { level: "none", value: null };
  const value = items.reduce((sum, item) => sum + item.done, 0) / required;
  const level = value >= 1 ? "full" : value >= 0.8 ? "high" : value >= 0.5 ? "mid" : "low";
  return { level, value };
}

function dateOf(month, dayNumber) {
  return `${month}-${String(dayNumber).padStart(2, "0")}`;
}

function weekday(date) {
  const [year, month, day] = date.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay(); // 0 = Sunday
}

function itemText(item) {
  if (!item) return T.i_cal_no_item;
  const met = item.done >= item.required;
  return `${item.done}/${item.required} ${met ? T.i_met : T.i_not_met}`;
}

function dayLabel(school, date, day, judged) {
  const parts = [`${school.name} ${date}`];
  if (date > SITE_TODAY) parts.push(T.i_cal_future);
  else if (!day) parts.push(T.i_lvl_none);
  else {
    parts.push(pair(T.i_gate, itemText(day.gate)), pair(T.i_patrols, itemText(day.patrols)));
    parts.push(pair(T.i_share, percent(judged.value)));
    if (day.partial) parts.push(T.i_cal_partial);
  }
  return parts.join(T.i_list_sep);
}

function headerRow(month) {
  const row = el("tr");
  row.append(el("th", "corner", T.i_school));
  const names = WEEKDAYS();
  for (let n = 1; n <= daysIn(month); n += 1) {
    const date = dateOf(month, n);
    const cell = el("th", "day-head");
    cell.scope = "col";
    cell.append(el("span", "num", n), el("span", "wd", names[weekday(date)]));
    if ([0, 6].includes(weekday(date))) cell.classList.add("weekend");
    if (date === SITE_TODAY) cell.classList.add("today");
    row.append(cell);
  }
  const tests = el("th", "tests-head", T.i_cal_tests);
  tests.scope = "col";
  row.append(tests);
  const head = el("thead");
  head.append(row);
  return head;
}

function schoolRow(school, month) {
  const row = el("tr");
  row.dataset.school = school.school;
  const header = el("th");
  header.scope = "row";
  const name = button("", "school", () => showSchool(school));
  name.append(el("span", "name", school.name));
  if (school.district) name.append(el("span", "district", school.district));
  header.append(name);
  row.append(header);
  const days = new Map((school.days || []).map((day) => [day.date, day]));
  for (let n = 1; n <= daysIn(month); n += 1) {
    const date = dateOf(month, n);
    const day = days.get(date);
    const judged = dayLevel(day, date);
    const cell = el("td");
    const target = button(
      judged.value === null ? "" : Math.round(judged.value * 100),
      `cell lvl-${judged.level}`,
      () => showDay(school, date),
    );
    target.dataset.date = date;
    target.dataset.level = judged.level;
    if (date === SITE_TODAY) target.classList.add("today");
    if (day && day.partial) target.classList.add("partial");
    if (day && day.alarms) {
      target.classList.add("alarmed");
      target.append(el("span", "alarms", day.alarms));
    }
    target.setAttribute("aria-label", dayLabel(school, date, day, judged));
    target.title = target.getAttribute("aria-label");
    cell.append(target);
    row.append(cell);
  }
  const tests = school.alarm_tests;
  const met = tests && tests.done >= tests.required;
  const cell = el("td", `tests ${tests ? (met ? "ok" : "bad") : ""}`);
  cell.textContent = tests ? `${tests.done}/${tests.required}` : "—";
  row.append(cell);
  return row;
}

function renderCalendar() {
  const { month, schools } = calendar;
  const table = $("cal-table");
  const body = el("tbody");
  body.append(...schools.map((school) => schoolRow(school, month)));
  if (!schools.length) {
    const row = el("tr");
    const cell = el("td", "empty", T.i_no_schools);
    cell.colSpan = daysIn(month) + 2;
    row.append(cell);
    body.append(row);
  }
  table.replaceChildren(headerRow(month), body);
  $("cal-detail").hidden = true;
  scrollToToday();
}

function detailHeading(text, onBack) {
  const head = el("div", "detail-head");
  head.append(el("h3", "", text));
  head.append(button(T.i_close, "", () => ($("cal-detail").hidden = true)));
  if (onBack) head.append(button(T.i_cal_whole_month, "", onBack));
  return head;
}

function showDetail(children) {
  const box = $("cal-detail");
  box.replaceChildren(...children);
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

function showDay(school, date) {
  const day = (school.days || []).find((item) => item.date === date);
  const judged = dayLevel(day, date);
  const title = fmt(T.i_day_title, {
    school: school.name,
    date,
    weekday: WEEKDAYS()[weekday(date)],
  });
  const facts = el("dl", "facts");
  const fact = (term, value) => facts.append(el("dt", "", term), el("dd", "", value));
  if (date > SITE_TODAY) fact(T.i_share, T.i_cal_future);
  else if (!day) fact(T.i_share, T.i_lvl_none);
  else {
    fact(T.i_gate, itemText(day.gate));
    fact(T.i_patrols, itemText(day.patrols));
    fact(T.i_alarms, fmt(T.i_times, { n: day.alarms ?? 0 }));
    fact(T.i_share, percent(judged.value));
  }
  const children = [detailHeading(title, () => showSchool(school)), facts];
  if (day && day.partial) children.push(el("p", "meta", T.i_cal_partial_long));
  showDetail(children);
  $("cal-detail").dataset.school = school.school;
  $("cal-detail").dataset.date = date;
}

// A number pair for the month table, coloured met / not met; "—" for an item the school has
// no part of (no gates, no key checkpoints).
function countCell(item) {
  if (!item) return el("td", "na", "—");
  return el("td", item.done >= item.required ? "met" : "unmet", `${item.done}/${item.required}`);
}

function showSchool(school) {
  const tests = school.alarm_tests;
  const title = [school.name, school.district].filter(Boolean).join(" · ");
  const summary = el("p", "meta", pair(T.i_cal_tests, tests ? `${tests.done}/${tests.required}` : "—"));
  const table = el("table", "grid days");
  const head = el("tr");
  for (const label of [T.i_date, T.i_col_gate, T.i_col_patrols, T.i_alarms, T.i_col_share]) {
    head.append(el("th", "", label));
  }
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  table.append(thead, body);
  const names = WEEKDAYS();
  for (const day of school.days || []) {
    if (day.date > SITE_TODAY) continue;
    const judged = dayLevel(day, day.date);
    const row = el("tr", `lvl-row-${judged.level}`);
    row.dataset.date = day.date;
    const date = el("td", "date", `${day.date.slice(5)} ${names[weekday(day.date)]}`);
    if (day.partial) date.append(el("span", "meta", T.i_cal_so_far));
    row.append(date, countCell(day.gate), countCell(day.patrols), el("td", "", day.alarms ?? 0));
    row.append(el("td", `lvl-text-${judged.level}`, percent(judged.value)));
    body.append(row);
  }
  const scroller = el("div", "scroller");
  scroller.append(table);
  showDetail([detailHeading(title), summary, scroller]);
  $("cal-detail").dataset.school = school.school;
  $("cal-detail").dataset.date = "";
}

// On a narrow screen the month does not fit: show its latest days (today) first.
function scrollToToday() {
  const scroller = $("cal-table").parentElement;
  const today = $("cal-table").querySelector("th.day-head.today");
  if (!today || scroller.scrollWidth <= scroller.clientWidth) return;
  const tail = scroller.scrollWidth - (today.offsetLeft + today.offsetWidth);
  scroller.scrollLeft = Math.max(0, scroller.scrollWidth - scroller.clientWidth - tail + 60);
}

async function loadCalendar() {
  const input = $("cal-month");
  const month = input.value;
  $("cal-next").disabled = month >= thisMonth();
  await guarded("cal-error", async () => {
    if (!validMonth(month)) throw new Shown(T.i_err_month);
    $("cal-loading").hidden = false;
    let schools;
    try {
      schools = await apiJson(`/api/v1/compliance/calendar?month=${month}`);
    } catch (error) {
      // Not last month's colours under this month's name.
      $("cal-table").replaceChildren();
      $("cal-detail").hidden = true;
      throw error;
    } finally {
      $("cal-loading").hidden = true;
    }
    if (input.value !== month) return; // another month was asked for meanwhile
    schools.forEach((s) => learnSchool(s.school, s.name, s.district));
    calendar = { month, schools };
    renderCalendar();
  });
}

function setupCalendar() {
  const input = $("cal-month");
  input.value = thisMonth();
  input.max = thisMonth();
  input.addEventListener("change", loadCalendar);
  $("cal-prev").addEventListener("click", () => {
    input.value = shiftMonth(validMonth(input.value) ? input.value : thisMonth(), -1);
    loadCalendar();
  });
  $("cal-next").addEventListener("click", () => {
    input.value = shiftMonth(validMonth(input.value) ? input.value : thisMonth(), 1);
    loadCalendar();
  });
}
