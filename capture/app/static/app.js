// depthcur capture app: plain JS, served locally (works offline).
"use strict";
const $ = (id) => document.getElementById(id);
const state = { category: null, busy: false, quotas: [] };
// written into the page by the server at each start; every POST must carry it (no other page can read it)
const TOKEN = document.querySelector('meta[name="depthcur-token"]').content;

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json", "X-Depthcur-Token": TOKEN },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const payload = await response.json();
  if (!response.ok) throw new Error(payload.error || `HTTP ${response.status}`);
  return payload;
}

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = !message;
}

function mb(bytes) { return bytes < 0 ? "?" : `${(bytes / 1e9).toFixed(1)} GB`; }

function renderCategories(quotas) {
  const box = $("categories");
  if (box.childElementCount !== quotas.length) {
    box.textContent = "";
    for (const q of quotas) {
      const button = document.createElement("button");
      button.className = "category";
      button.dataset.category = q.category;
      button.innerHTML = `<span class="name"></span><br><small class="count"></small>` +
        `<span class="quota"><i></i></span>`;
      button.querySelector(".name").textContent = q.label;
      button.addEventListener("click", () => { state.category = q.category; renderCategories(state.quotas); });
      box.appendChild(button);
    }
  }
  for (const button of box.children) {
    const q = quotas.find((x) => x.category === button.dataset.category);
    button.classList.toggle("selected", q.category === state.category);
    button.querySelector(".count").textContent = `${q.count} / ${q.target}`;
    button.querySelector(".quota > i").style.width = `${Math.min(100, q.target ? 100 * q.count / q.target : 0)}%`;
  }
  const chosen = quotas.find((x) => x.category === state.category);
  $("category-label").textContent = chosen ? chosen.label : "pick one";
}

function renderStatus(status) {
  state.quotas = status.quotas;
  if (!state.category && status.session) state.category = status.session.scene_category;
  renderCategories(status.quotas);
  $("session-label").textContent = status.session ?
    `session ${status.session.name} · ${status.session.operator || "no operator"}` : "no session";
  const devices = $("devices");
  devices.textContent = "";
  for (const d of status.devices) {
    const pill = document.createElement("span");
    pill.className = `pill ${d.status === "ok" ? "ok" : "bad"}`;
    pill.textContent = `${d.primary ? "★ " : ""}${d.name} ${d.serial}`;
    pill.title = `${d.model} — ${d.status}`;
    devices.appendChild(pill);
  }
  $("disk").textContent = `disk ${mb(status.disk.free_bytes)} free`;
  $("disk").className = `pill ${status.disk.ok ? "ok" : "bad"}`;
  const c = status.counters;
  $("counters").textContent =
    `Session: ${c.session_captures} captures, ${c.session_samples} samples · all sessions: ${c.all_captures}`;
  for (const id of ["capture", "burst", "delete-last"]) $(id).disabled = state.busy || !status.session;
}

async function refreshStatus() {
  try { renderStatus(await api("/api/status")); } catch (e) { showError(e.message); }
}

async function refreshLast() {
  const last = await api("/api/last");
  if (!last.last) {
    $("last-info").textContent = "none yet"; $("last-rgb").removeAttribute("src"); $("last-depth").removeAttribute("src");
    return;
  }
  $("last-rgb").src = last.rgb; $("last-depth").src = last.depth;
  $("last-info").textContent = `#${last.last.index} ${last.last.category} · fill ${(100 * last.fill_rate).toFixed(1)}%` +
    ` · ${last.last.keys.length} sample(s) · ${last.key}`;
}

async function previewLoop() {
  for (;;) {
    try {
      const p = await api("/api/preview");
      $("view-rgb").src = p.rgb; $("view-depth").src = p.depth;
      if (p.ir) $("view-ir").src = p.ir;
      $("fill-rate").textContent = `${(100 * p.fill_rate).toFixed(1)}%`;
      $("fill-bar").style.width = `${100 * p.fill_rate}%`;
      $("latency").textContent = p.latency_ms.toFixed(0);
      state.emitter = p.emitter_on;
      $("emitter").textContent = `Emitter: ${p.emitter_on === null ? "n/a" : p.emitter_on ? "on" : "off"}`;
    } catch (e) {
      showError(e.message);
      await new Promise((r) => setTimeout(r, 1500));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function capture(burst) {
  if (!state.category) { showError("pick a scene category first"); return; }
  state.busy = true; $("capture").disabled = true; $("burst").disabled = true;
  try {
    const result = await api("/api/capture", { category: state.category, burst });
    showError("");
    $("capture").textContent = `Captured ${result.captures.length}`;
    setTimeout(() => { $("capture").textContent = "Capture"; }, 1200);
    await refreshLast();
  } catch (e) {
    showError(`capture failed: ${e.message}`);
  } finally {
    state.busy = false;
    await refreshStatus();
  }
}

$("capture").addEventListener("click", () => capture(1));
$("burst").addEventListener("click", () => capture(parseInt($("burst-size").value, 10)));
$("delete-last").addEventListener("click", async () => {
  try { await api("/api/delete_last", {}); await refreshLast(); await refreshStatus(); } catch (e) { showError(e.message); }
});
$("emitter").addEventListener("click", async () => {
  try { await api("/api/emitter", { on: !state.emitter }); } catch (e) { showError(e.message); }
});
$("error-close").addEventListener("click", () => showError(""));
$("session-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/api/session", { name: $("session-name").value.trim(), operator: $("operator").value,
      location_note: $("location").value, scene_category: state.category || "office" });
    showError(""); await refreshStatus(); await refreshLast();
  } catch (e) { showError(`session not started: ${e.message}`); }
});

refreshStatus().then(refreshLast).catch((e) => showError(e.message));
setInterval(refreshStatus, 2000);
previewLoop();
