// The guard's phone page, part 3 of 3: scanning, with the live camera, a photo, or NFC.
// Loaded before guard.js, which declares what these functions use when they are called.
"use strict";
// ---- Scanning: the live camera ------------------------------------------------------------

function grabFrame() {
  const video = $("video");
  if (video.readyState < 2 || !video.videoWidth) return Promise.resolve(null);
  const scale = Math.min(1, FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight));
  const canvas = $("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

async function startCamera() {
  if (camera || opening) return; // a second tap while the camera opens
  stopNfc();
  $("result").hidden = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    // Browsers give the camera to HTTPS pages (and localhost) only.
    showResult("error", window.isSecureContext ? T.g_no_camera : T.g_camera_https, "");
    return;
  }
  let stream;
  opening = true;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (error) {
    showResult("error", T.g_no_camera, error.name);
    return;
  } finally {
    opening = false;
  }
  if (leaving) {
    stream.getTracks().forEach((track) => track.stop()); // signed out meanwhile
    return;
  }
  const session = { id: newId(), stream, stopped: false, offlineFrames: 0 };
  camera = session;
  const video = $("video");
  video.srcObject = stream;
  $("scanner").hidden = false;
  $("scanner-hint").textContent = T.g_aim;
  $("scan").disabled = true;
  document.body.dataset.scanning = "1";
  window.scrollTo({ top: 0 });
  await video.play().catch(() => {});
  scanLoop(session);
}

function stopCamera() {
  if (!camera) return;
  camera.stopped = true;
  camera.stream.getTracks().forEach((track) => track.stop());
  $("video").srcObject = null;
  camera = null;
  $("scanner").hidden = true;
  $("scan").disabled = false;
  delete document.body.dataset.scanning;
}

async function scanLoop(session) {
  while (!session.stopped) {
    const started = Date.now();
    try {
      await scanFrame(session);
    } catch (error) {
      if (error instanceof SignedOut) return;
      console.warn("frame", error);
    }
    await sleep(Math.max(0, FRAME_MS - (Date.now() - started)));
  }
}

async function scanFrame(session) {
  const blob = await grabFrame();
  if (!blob || session.stopped) return; // no picture yet
  const item = { kind: "photo", id: session.id, at: nowIso(), live: true };
  const before = counts();
  let response;
  try {
    response = await send(item, false, blob);
  } catch (error) {
    if (!(error instanceof Offline) || session.stopped) throw error;
    // No network: keep a few frames of this session; the gateway reads them later.
    session.offlineFrames += 1;
    const kept = enqueue(Object.assign(item, { data: await blobToDataUrl(blob) }));
    if (!kept || session.offlineFrames >= OFFLINE_FRAMES) {
      stopCamera();
      showResult(kept ? "queued" : "error", kept ? T.g_queued_frames : T.g_error, "");
    }
    return;
  }
  if (response.ok) {
    // Recorded (201) or recorded by an earlier frame of this session (200): shown even if
    // the guard pressed cancel meanwhile, since it counts.
    if (camera === session) stopCamera();
    await showScan(await response.json(), before);
    return;
  }
  if (session.stopped) return;
  if (response.status === 422 && (await problemType(response.clone())) === "no_qr_code") {
    $("scanner-hint").textContent = T.g_aim; // no code in this frame yet: keep looking
    return;
  }
  stopCamera();
  showResult("error", T.g_error, await problem(response));
}

// ---- Scanning: a photo, a tag read over NFC -----------------------------------------------

// The photo as a JPEG of at most PHOTO_SIDE: to keep it offline, or when the phone gave
// another format (HEIC, WebP) that the gateway does not read.
async function asJpeg(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

async function uploadPhoto(file) {
  stopCamera();
  stopNfc();
  const item = { kind: "photo", id: newId(), at: nowIso(), live: false };
  const before = counts();
  showResult("busy", T.g_reading, "");
  const readable = ["image/jpeg", "image/png"].includes(file.type);
  const picture = readable ? file : await asJpeg(file);
  let response;
  try {
    response = await send(item, false, picture);
  } catch (error) {
    if (!(error instanceof Offline)) throw error;
    const kept = enqueue(Object.assign(item, { data: await blobToDataUrl(await asJpeg(file)) }));
    showResult(kept ? "queued" : "error", kept ? T.g_queued : T.g_error, "");
    return;
  }
  if (response.ok) await showScan(await response.json(), before);
  else if (response.status === 422) showResult("error", T.g_no_code, await problem(response));
  else showResult("error", T.g_error, await problem(response));
}

async function sendTag(tag) {
  const item = { kind: "tag", id: newId(), at: nowIso(), tag };
  const before = counts();
  let response;
  try {
    response = await send(item, false);
  } catch (error) {
    if (!(error instanceof Offline)) throw error;
    const kept = enqueue(item);
    showResult(kept ? "queued" : "error", kept ? T.g_queued : T.g_error, "");
    return;
  }
  if (response.ok) await showScan(await response.json(), before);
  else showResult("error", T.g_error, await problem(response));
}

function stopNfc() {
  if (nfc) nfc.abort();
  nfc = null;
}

async function startNfc() {
  stopCamera();
  stopNfc();
  const controller = new AbortController();
  nfc = controller;
  const reader = new window.NDEFReader();
  try {
    await reader.scan({ signal: controller.signal });
  } catch (error) {
    showResult("error", T.g_error, `${error.name}: ${error.message}`);
    return;
  }
  showResult("busy", T.g_nfc_hint, "");
  reader.addEventListener("reading", (event) => {
    const record = event.message.records.find((r) => r.recordType === "text");
    if (!record || controller.signal.aborted) return; // not a checkpoint tag: keep listening
    stopNfc();
    const tag = new TextDecoder(record.encoding || "utf-8").decode(record.data).trim();
    sendTag(tag).catch((error) => console.warn("nfc", error));
  });
}
