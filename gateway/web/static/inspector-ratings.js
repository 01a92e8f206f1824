// The inspectors' pages, part 7: the quarterly rating (季度评级: 示范, 达标, 不合格) of each
// school, with its reasons and the change from the quarter before; a downgraded school is
// marked for attention (重点关注).
"use strict";

const QUARTERS_SHOWN = 8;

function quarterOf(date) {
  return `${date.slice(0, 4)}-Q${Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1}`;
}

function previousQuarter(quarter) {
  const year = Number(quarter.slice(0, 4));
  const number = Number(quarter.slice(6));
  return number === 1 ? `${year - 1}-Q4` : `${year}-Q${number - 1}`;
}

function ratingRow(rating) {
  const row = el("tr", `rating change-${rating.change}`);
  row.dataset.school = rating.school;
  row.dataset.level = rating.level;
  row.dataset.change = rating.change;
  learnSchool(rating.school, rating.name, rating.district);
  const name = el("th");
  name.scope = "row";
  name.append(el("span", "name", rating.name));
  if (rating.district) name.append(el("span", "district", rating.district));
  if (rating.change === "down") name.append(el("span", "badge bad attention", T.i_attention));
  const level = el("td");
  level.append(el("span", `badge level-${rating.level}`, rating.level_text || rating.level));
  if (rating.provisional) level.append(el("span", "meta provisional", T.i_provisional));
  const change = el("td", `change ${rating.change}`);
  change.append(el("span", "what", T[`i_change_${rating.change}`] || rating.change));
  if (rating.previous_level) {
    const before = T[`i_level_${rating.previous_level}`] || rating.previous_level;
    change.append(el("span", "meta previous", pair(T.i_previous, before)));
  }
  const reasons = el("td");
  if ((rating.reasons || []).length) {
    const list = el("ul", "reasons");
    list.append(...rating.reasons.map((reason) => el("li", "", reason)));
    reasons.append(list);
  } else {
    reasons.textContent = "—";
  }
  row.append(name, level, change, reasons);
  return row;
}

function renderRatings(ratings) {
  const head = el("tr");
  for (const label of [T.i_school, T.i_level, T.i_change, T.i_reasons]) {
    head.append(el("th", "", label));
  }
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  // Downgraded schools first: they are the ones to visit.
  const ordered = [...ratings].sort(
    (a, b) => Number(b.change === "down") - Number(a.change === "down"),
  );
  body.append(...ordered.map(ratingRow));
  $("ratings-table").replaceChildren(thead, body);
  const count = (level) => ratings.filter((r) => r.level === level).length;
  $("ratings-summary").textContent = fmt(T.i_ratings_summary, {
    n: ratings.length,
    demonstration: count("demonstration"),
    passing: count("passing"),
    failing: count("failing"),
    down: ratings.filter((r) => r.change === "down").length,
  });
}

async function loadRatings() {
  const quarter = $("ratings-quarter").value;
  await guarded("ratings-error", async () => {
    let ratings;
    try {
      ratings = await apiJson(`/api/v1/compliance/ratings?quarter=${quarter}`);
    } catch (error) {
      $("ratings-table").replaceChildren();
      $("ratings-summary").textContent = "";
      throw error;
    }
    if ($("ratings-quarter").value === quarter) renderRatings(ratings);
  });
}

function setupRatings() {
  const select = $("ratings-quarter");
  const current = quarterOf(SITE_TODAY);
  let quarter = current;
  for (let i = 0; i < QUARTERS_SHOWN; i += 1) {
    const label = quarter === current ? fmt(T.i_this_quarter, { q: quarter }) : quarter;
    const option = el("option", "", label);
    option.value = quarter;
    select.append(option);
    quarter = previousQuarter(quarter);
  }
  // The quarter of the last complete day, as the gateway's default: on a quarter's first
  // day, the one just ended.
  select.value = quarterOf(siteYesterday());
  select.addEventListener("change", loadRatings);
}
