// streamal review page: one item at a time, keyboard first. No build step.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { token: null, me: null, items: [], current: null, busy: false, lastAnswer: null };

function token() {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    localStorage.setItem("streamal.token", fromUrl);
    history.replaceState(null, "", location.pathname);
  }
  return localStorage.getItem("streamal.token");
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { "Authorization": `Bearer ${state.token}`, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  if (res.status === 401) { signOut("That token is not valid."); throw new Error("unauthorised"); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : res.statusText);
  return body;
}

function signOut(message) {
  localStorage.removeItem("streamal.token");
  state.token = null;
  $("desk").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

function flash(text) { $("flash").textContent = text; }

function age(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return `${Math.round(seconds)}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

function table(el, obj) {
  el.replaceChildren(...Object.entries(obj).map(([k, v]) => {
    const tr = document.createElement("tr");
    tr.append(cell(k), cell(v === null ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v)));
    return tr;
  }));
}

function classes() {
  const known = state.me ? state.me.classes.slice() : [];
  const item = state.current;
  if (item) for (const c of Object.keys(item.proba)) if (!known.includes(c)) known.push(c);
  return known.slice(0, 9);
}

function renderQueue() {
  $("queue").replaceChildren(...state.items.map((it) => {
    const li = document.createElement("li");
    if (state.current && it.event_id === state.current.event_id) li.className = "current";
    const dot = document.createElement("span"); dot.className = `dot ${it.reason}`; dot.title = it.reason;
    const id = document.createElement("span"); id.className = "id"; id.textContent = it.event_id;
    const guess = document.createElement("span"); guess.className = "muted"; guess.textContent = it.prediction ?? "?";
    li.append(dot, id, guess);
    li.onclick = () => show(it);
    return li;
  }));
}

function show(item) {
  state.current = item;
  renderQueue();
  $("empty").hidden = !!item;
  $("item").hidden = !item;
  if (!item) return;
  $("reason").textContent = item.reason;
  $("reason").className = `reason ${item.reason}`;
  $("event-id").textContent = item.event_id;
  $("age").textContent = age(item.age_seconds);
  $("guess").textContent = item.prediction ?? "no guess yet";
  $("version").textContent = item.model_version;
  const probs = Object.entries(item.proba).sort((a, b) => b[1] - a[1]);
  $("bars").replaceChildren(...probs.map(([name, p]) => {
    const row = document.createElement("div"); row.className = "bar";
    const label = document.createElement("span"); label.className = "name"; label.textContent = name;
    const track = document.createElement("div"); track.className = "track";
    const fill = document.createElement("div"); fill.className = "fill"; fill.style.width = `${(p * 100).toFixed(1)}%`;
    track.append(fill);
    const pct = document.createElement("span"); pct.className = "pct"; pct.textContent = `${(p * 100).toFixed(1)}%`;
    row.append(label, track, pct);
    return row;
  }));
  table($("features"), item.features);
  $("meta-wrap").hidden = !item.meta || !Object.keys(item.meta).length;
  if (item.meta) table($("meta"), item.meta);
  $("answers").replaceChildren(...classes().map((c, i) => {
    const b = document.createElement("button");
    b.textContent = c;
    const k = document.createElement("kbd"); k.textContent = String(i + 1);
    b.append(k);
    b.dataset.label = c;
    b.onclick = () => answer(c);
    return b;
  }));
  api(`/api/review/${encodeURIComponent(item.event_id)}/claim`, { method: "POST" }).catch((e) => flash(e.message));
}

async function refresh(keepCurrent = true) {
  const [me, queue] = await Promise.all([api("/api/me"), api("/api/review?mine=true&limit=50")]);
  state.me = me;
  state.items = queue.items;
  $("who").textContent = me.annotator;
  $("done").textContent = me.answered;
  $("open").textContent = queue.total;
  $("undo").disabled = !me.undoable;
  const still = keepCurrent && state.current && state.items.find((i) => i.event_id === state.current.event_id);
  if (still) { renderQueue(); return; }
  show(state.items[0] || null);
}

async function answer(label) {
  if (state.busy || !state.current) return;
  state.busy = true;
  const id = state.current.event_id;
  try {
    const res = await api(`/api/review/${encodeURIComponent(id)}/label`, { method: "POST", body: JSON.stringify({ label }) });
    state.lastAnswer = res;
    flash(`Answered ${id}: ${label}. Press u to undo.`);
    state.current = null;
    await refresh(false);
  } catch (e) { flash(`Could not answer: ${e.message}`); await refresh(false); }
  finally { state.busy = false; }
}

async function skip() {
  if (state.busy || !state.current) return;
  state.busy = true;
  const id = state.current.event_id;
  try {
    await api(`/api/review/${encodeURIComponent(id)}/skip`, { method: "POST", body: JSON.stringify({ requeue: true }) });
    flash(`Skipped ${id}; it stays in the queue for the others.`);
    state.current = null;
    await refresh(false);
  } catch (e) { flash(e.message); } finally { state.busy = false; }
}

async function undo() {
  if (state.busy || !state.me || !state.me.undoable) return;
  state.busy = true;
  const id = state.me.undoable;
  try {
    await api(`/api/review/${encodeURIComponent(id)}/undo`, { method: "POST" });
    flash(`Undid your answer to ${id}; it is back in the queue.`);
    state.current = null;
    await refresh(false);
    const again = state.items.find((i) => i.event_id === id);
    if (again) show(again);
  } catch (e) { flash(`Could not undo: ${e.message}`); } finally { state.busy = false; }
}

document.addEventListener("keydown", (ev) => {
  if ($("desk").hidden || ev.target.tagName === "INPUT" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (/^[1-9]$/.test(ev.key)) {
    const c = classes()[Number(ev.key) - 1];
    if (c) { ev.preventDefault(); answer(c); }
  } else if (ev.key === "s") { ev.preventDefault(); skip(); }
  else if (ev.key === "u") { ev.preventDefault(); undo(); }
});
$("skip").onclick = skip;
$("new-label").onsubmit = (ev) => {
  ev.preventDefault();
  const text = $("new-label-text").value.trim();
  if (text) { $("new-label-text").value = ""; answer(text); }
};
$("undo").onclick = undo;
$("login-form").onsubmit = (ev) => {
  ev.preventDefault();
  localStorage.setItem("streamal.token", $("token").value.trim());
  start();
};

async function start() {
  state.token = token();
  if (!state.token) { signOut(); return; }
  $("login").hidden = true;
  $("desk").hidden = false;
  try { await refresh(false); } catch (e) { return; }
  setInterval(() => refresh(true).catch(() => {}), 2000);
}
start();
