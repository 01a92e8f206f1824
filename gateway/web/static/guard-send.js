// The guard's phone page, part 2 of 3: sending scans and check-ins now, or keeping them in
// localStorage while there is no network and sending them later with their own time.
// Loaded before guard.js, which declares what these functions use when they are called.
"use strict";
// ---- Sending (now, or later from the queue) -----------------------------------------------

function dataUrlToBlob(url) {
  const [head, body] = url.split(",");
  const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type: head.slice(5).split(";")[0] });
}

function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// Sent at once, the gateway's clock is the scan time; sent late, the time it was made.
function send(item, late, blob) {
  if (item.kind === "tag") {
    const body = { tag: item.tag, id: item.id, via: "nfc" };
    if (late) body.at = item.at;
    return api("/api/v1/patrols/scans", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }
  if (item.kind === "photo") {
    const form = new FormData();
    const picture = blob || dataUrlToBlob(item.data);
    const name = picture.name || (picture.type === "image/png" ? "scan.png" : "scan.jpg");
    form.append("photo", picture, name);
    form.append("id", item.id);
    form.append("live", item.live ? "true" : "false");
    if (late) form.append("at", item.at);
    return api("/api/v1/patrols/scans/photo", { method: "POST", body: form });
  }
  const gate = `${encodeURIComponent(item.school_id)}/${encodeURIComponent(item.gate_id)}`;
  const path = `/api/v1/gates/${gate}/${item.action}`;
  const body = { id: item.id };
  if (late) body.at = item.at;
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function queueKey() {
  return QUEUE_PREFIX + me.username;
}

function queued() {
  try {
    return JSON.parse(localStorage.getItem(queueKey()) || "[]");
  } catch (error) {
    return [];
  }
}

function saveQueue(items) {
  try {
    localStorage.setItem(queueKey(), JSON.stringify(items));
    return true;
  } catch (error) {
    console.warn("cannot keep it on the phone", error); // storage full
    return false;
  } finally {
    showPending();
    renderRecords(scans); // what waits to be sent is listed with the day's records
  }
}

function enqueue(item) {
  return saveQueue([...queued(), Object.assign({ key: newId() }, item)]);
}

function showPending() {
  const items = queued();
  const sessions = new Set(items.map((i) => i.id)).size; // a session's frames are one scan
  $("pending").hidden = !sessions;
  $("pending").textContent = fmt(T.g_pending, { n: sessions });
}

// Send what was kept while offline, oldest first. Frames of one camera session share an id:
// the first one with a readable code is recorded, and the others are no longer needed.
async function flush() {
  if (flushing || leaving) return;
  flushing = true;
  let sent = 0;
  const failures = new Map(); // id -> why it could not be sent
  try {
    for (const item of queued()) {
      if (!queued().some((i) => i.key === item.key)) continue; // done with its session
      let response;
      try {
        response = await send(item, true);
      } catch (error) {
        if (error instanceof Offline || error instanceof SignedOut) return;
        throw error;
      }
      if (response.status >= 500 || response.status === 429) return; // try again later
      const rest = queued();
      if (response.ok) {
        sent += 1;
        failures.delete(item.id);
        saveQueue(rest.filter((i) => i.id !== item.id));
      } else {
        failures.set(item.id, await problem(response));
        saveQueue(rest.filter((i) => i.key !== item.key));
      }
    }
  } finally {
    flushing = false;
    showPending();
  }
  const lost = [...failures.keys()].filter((id) => !queued().some((i) => i.id === id));
  if (sent || lost.length) {
    await refresh();
    const reason = failures.get(lost[0]);
    const detail = lost.length ? fmt(T.g_dropped, { n: lost.length, reason }) : "";
    showResult(lost.length && !sent ? "error" : "accepted", fmt(T.g_sent, { n: sent }), detail);
  }
}
