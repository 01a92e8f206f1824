// The inspectors' pages, part 5: the monthly report (月报). Downloads in XLSX, PDF and CSV go
// through fetch (the same way as every other call, refusals said in words on the page) and
// are saved under the name the gateway gives; the month's summary table is read from the JSON form.
"use strict";

const FORMATS = ["xlsx", "pdf", "csv"];

// The file name from Content-Disposition: RFC 5987's filename* first, then filename.
function fileNameOf(header) {
  if (!header) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch (error) {
      // fall through to the plain name
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(header);
  return plain ? plain[1].trim() : null;
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function download(format, trigger) {
  const month = $("report-month").value;
  const status = $("report-status");
  status.hidden = true;
  trigger.disabled = true;
  await guarded("report-error", async () => {
    if (!validMonth(month)) throw new Shown(T.i_err_month);
    status.textContent = T.i_downloading;
    status.hidden = false;
    try {
      const query = new URLSearchParams({ month, format });
      const response = await api(`/api/v1/reports/monthly?${query}`);
      if (!response.ok) throw new Shown(await problemText(response));
      const name =
        fileNameOf(response.headers.get("Content-Disposition")) ||
        `campus-report-${month}.${format}`;
      saveBlob(await response.blob(), name);
      status.textContent = fmt(T.i_downloaded, { name });
    } catch (error) {
      status.hidden = true;
      throw error;
    }
  });
  trigger.disabled = false;
}

// A figure of the report, whatever its shape: a ratio {done, required, value}, a number, a
// yes/no; "—" for what this gateway's report does not have.
function figure(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? T.i_yes : T.i_no;
  if (typeof value === "object" && "done" in value && "required" in value) {
    return ratioText(value);
  }
  return String(value);
}

function fourFull(row) {
  if (typeof row.four_100 === "boolean") return row.four_100;
  const indicators = row.indicators;
  if (!indicators || typeof indicators !== "object") return null;
  const values = Object.values(indicators);
  if (!values.length) return null;
  // A school's indicators are yes/no; an area's are ratios of schools meeting each.
  return values.every((v) => (typeof v === "boolean" ? v : v && v.done === v.required));
}

function alarmsText(row) {
  if (row.alarms === undefined) return "—";
  const ack = row.alarms_acknowledged ?? "—";
  const median = row.ack_median_s === null || row.ack_median_s === undefined;
  const parts = [fmt(T.i_alarms_acked, { n: row.alarms, ack })];
  if (!median) parts.push(fmt(T.i_ack_median, { s: seconds(row.ack_median_s) }));
  return parts.join(" · ");
}

function hazardsText(row) {
  if (row.hazards_open === undefined) return "—";
  // An area's totals have no overdue count.
  if (row.hazards_overdue === undefined) return fmt(T.i_hazards_open_only, { open: row.hazards_open });
  return fmt(T.i_hazards_open, { open: row.hazards_open, overdue: row.hazards_overdue });
}

const REPORT_COLUMNS = [
  [() => T.i_school, (row, name) => name],
  [() => T.i_gate_days, (row) => figure(row.gate_days)],
  [() => T.i_patrol_days, (row) => figure(row.patrol_days)],
  [() => T.i_alarm_tests, (row) => figure(row.alarm_tests)],
  [() => T.i_alarms, alarmsText],
  [() => T.i_hazards, hazardsText],
  [() => T.i_four_100, (row) => figure(fourFull(row))],
];

function reportRow(row, name, className) {
  const tr = el("tr", className);
  if (row.school_id) tr.dataset.school = row.school_id;
  REPORT_COLUMNS.forEach(([label, value], index) => {
    const cell = el(index ? "td" : "th", "", value(row, name));
    if (!index) cell.scope = "row";
    cell.dataset.label = label(); // a phone shows each figure under its name
    tr.append(cell);
  });
  return tr;
}

function renderReport(report) {
  const table = $("report-table");
  const head = el("tr");
  for (const [label] of REPORT_COLUMNS) head.append(el("th", "", label()));
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  for (const school of report.schools || []) {
    learnSchool(school.school_id, school.school_name, school.district);
    const name = [school.school_name, school.district].filter(Boolean).join(" · ");
    body.append(reportRow(school, name, "school"));
  }
  const foot = el("tfoot");
  const districts = (report.districts || []).filter((area) => area.district);
  if (districts.length > 1) {
    for (const area of districts) foot.append(reportRow(area, area.district, "district"));
  }
  if (report.total) foot.append(reportRow(report.total, T.i_total, "total"));
  table.replaceChildren(thead, body, foot);
  const meta = [];
  if (report.generated_at) meta.push(pair(T.i_generated_at, wallClock(report.generated_at)));
  const headOf = report.audit_head;
  if (headOf && headOf.hash) {
    meta.push(pair(T.i_audit_head, `#${headOf.seq} · ${String(headOf.hash).slice(0, 16)}`));
  }
  $("report-meta").textContent = meta.join(" · ");
}

async function loadReportSummary() {
  const month = $("report-month").value;
  await guarded("report-summary-error", async () => {
    if (!validMonth(month)) throw new Shown(T.i_err_month);
    const query = new URLSearchParams({ month, format: "json" });
    let report;
    try {
      report = await apiJson(`/api/v1/reports/monthly?${query}`);
    } catch (error) {
      $("report-table").replaceChildren();
      $("report-meta").textContent = "";
      throw error;
    }
    if ($("report-month").value === month) renderReport(report);
  });
}

function setupReport() {
  const month = $("report-month");
  month.value = siteYesterday().slice(0, 7);
  month.max = thisMonth();
  month.addEventListener("change", () => {
    $("report-status").hidden = true;
    loadReportSummary();
  });
  for (const format of FORMATS) {
    const trigger = document.querySelector(`#report [data-format="${format}"]`);
    trigger.addEventListener("click", () => download(format, trigger));
  }
}
