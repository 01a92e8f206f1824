// The inspectors' pages, part 6: log verification (日志校验). The gateway recomputes its
// tamper-evident log (a hash chain over every record) and compares it with the records; here
// the answer is green with the chain's head, or red with the first broken link and the rest.
"use strict";

function problemLine(problem) {
  const where = [];
  if (problem.table) where.push(problem.table);
  if (problem.row_id !== null && problem.row_id !== undefined) {
    where.push(fmt(T.i_audit_row, { id: problem.row_id }));
  }
  if (problem.seq !== null && problem.seq !== undefined) {
    where.push(fmt(T.i_audit_seq, { seq: problem.seq }));
  }
  const reason = T[`i_audit_${problem.reason}`] || problem.reason;
  const line = el("li", "problem");
  line.dataset.reason = problem.reason;
  line.append(el("strong", "", reason), el("span", "where", where.join(" · ")));
  // The gateway's own sentence is English: said in full only to an English reader, or when
  // the page has no words for the reason.
  const translated = Boolean(T[`i_audit_${problem.reason}`]);
  const english = document.documentElement.lang === "en";
  if (problem.message && (english || !translated)) {
    line.append(el("span", "meta", problem.message));
  }
  return line;
}

function renderAudit(result) {
  const box = $("audit-result");
  box.className = `audit ${result.ok ? "intact" : "broken"}`;
  box.dataset.ok = String(result.ok);
  const children = [];
  if (result.ok) {
    children.push(el("p", "verdict", `✓ ${T.i_audit_ok}`));
    if (result.head) {
      const head = el("p", "head", fmt(T.i_audit_head_is, { seq: result.head.seq }));
      head.append(el("code", "hash", String(result.head.hash).slice(0, 16)));
      children.push(head);
    } else {
      children.push(el("p", "head", T.i_audit_empty));
    }
  } else {
    const count = result.problem_count ?? (result.problems || []).length;
    children.push(el("p", "verdict", `✗ ${fmt(T.i_audit_broken, { n: count })}`));
    if (result.first_broken) {
      children.push(el("p", "first", T.i_audit_first));
      const first = el("ul", "problems first-broken");
      first.append(problemLine(result.first_broken));
      children.push(first);
    }
    const problems = result.problems || [];
    if (problems.length) {
      children.push(el("p", "", fmt(T.i_audit_list, { n: problems.length, total: count })));
      const list = el("ol", "problems");
      list.append(...problems.map(problemLine));
      children.push(list);
    }
  }
  const facts = [fmt(T.i_audit_counts, { entries: result.entries, rows: result.rows_checked })];
  if (result.unsealed) facts.push(fmt(T.i_audit_unsealed, { n: result.unsealed }));
  if (result.checked_at) facts.push(pair(T.i_checked_at, wallClock(result.checked_at)));
  children.push(el("p", "meta", facts.join(" · ")));
  box.replaceChildren(...children);
  box.hidden = false;
}

async function runAudit() {
  const trigger = $("audit-run");
  trigger.disabled = true;
  trigger.textContent = T.i_audit_running;
  await guarded("audit-error", async () => {
    try {
      renderAudit(await apiJson("/api/v1/audit/verify"));
    } catch (error) {
      $("audit-result").hidden = true;
      throw error;
    }
  });
  trigger.disabled = false;
  trigger.textContent = T.i_audit_run;
}

function setupAudit() {
  $("audit-run").addEventListener("click", runAudit);
}
