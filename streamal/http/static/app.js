// streamal review page: one item at a time, keyboard first. No build step.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { token: null, me: null, items: [], current: null, busy: false, timer: null, panel: null };

function token() {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    localStorage.setItem("streamal.token", fromUrl);
    history.replaceState(null, "", location.pathname);
  }
  return localStorage.getItem("streamal.token");
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { "Authorization": `Bearer ${state.token}`, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  if (res.status === 401) { signOut("That token is not valid."); throw new ApiError(401, "unauthorised"); }
  if (res.status === 204) return null;
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : res.statusText;
    throw new ApiError(res.status, detail);
  }
  return body;
}

function signOut(message) {
  localStorage.removeItem("streamal.token");
  state.token = null;
  state.current = null;
  if (state.timer) { clearInterval(state.timer); state.timer = null; }
  $("desk").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("token").value = "";
  $("login-error").textContent = message || "";
}

async function signOutByHand() {
  const held = state.current;
  if (held) await api(`/api/review/${encodeURIComponent(held.event_id)}/release`, { method: "POST" }).catch(() => {});
  signOut("Signed out. The token is no longer kept in this browser.");
}

// Messages: an error stays until the analyst moves on; a notice until the next one.
function flash(text, isError = false) {
  $("flash").textContent = text;
  $("flash").className = isError ? "flash error" : "flash";
}
function clearError() { if ($("flash").classList.contains("error")) flash(""); }

function age(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return `${Math.round(seconds)}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text != null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function table(node, obj) {
  node.replaceChildren(...Object.entries(obj).map(([k, v]) => {
    const tr = document.createElement("tr");
    tr.append(el("td", k), el("td", v === null ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v)));
    return tr;
  }));
}

function classes() {
  const known = state.me ? state.me.classes.slice() : [];
  const item = state.current;
  if (item && !known.length) for (const c of Object.keys(item.proba).sort()) known.push(c);
  return known.slice(0, 9);
}

function heldByOther(item) { return item.claimed_by && state.me && item.claimed_by !== state.me.annotator; }

function renderQueue() {
  $("queue").replaceChildren(...state.items.map((it) => {
    const li = el("li");
    const held = heldByOther(it);
    li.className = [state.current && it.event_id === state.current.event_id ? "current" : "", held ? "held" : ""].join(" ").trim();
    const dot = el("span", null, `dot ${it.reason}`); dot.title = it.reason;
    li.append(dot, el("span", it.event_id, "id"),
      el("span", held ? `held by ${it.claimed_by}` : (it.prediction ?? "?"), "muted"));
    if (!held) li.onclick = () => open(it);
    else li.title = `${it.claimed_by} is answering this one`;
    return li;
  }));
}

function renderWhy(explanation) {
  const wrap = $("why");
  const members = explanation ? explanation.members || [] : [];
  const novel = explanation ? explanation.novel || [] : [];
  const newClass = explanation ? explanation.new_class : null;
  $("why-wrap").hidden = !members.length && !novel.length && !newClass;
  if (novel.length || newClass) {  // a novelty question: what is new about it is the explanation
    const box = el("div", null, "why-member");
    box.append(el("div", novel.length ? `Unlike anything labelled so far: ${novel.join(", ")}`
      : `Looks like “${newClass}”, a class an analyst named for the first time: more examples teach it`, "why-title"));
    wrap.replaceChildren(box);
    return;
  }
  wrap.replaceChildren(...members.map((m) => {
    const box = el("div", null, "why-member");
    const weight = members.length > 1 ? ` (weight ${(m.weight * 100).toFixed(0)}%)` : "";
    if (m.name === "linear") {
      box.append(el("div", `Linear model${weight}: the terms that added most to “${m.class}”`, "why-title"));
      const list = el("ul");
      for (const t of m.terms) {
        const toward = t.effect > 0 ? `toward ${m.class}` : `away from ${m.class}`;
        list.append(el("li", `${t.feature}: ${t.effect > 0 ? "+" : ""}${t.effect.toFixed(2)} ${toward}`));
      }
      box.append(list);
    } else if (m.name === "tree") {
      box.append(el("div", `Decision tree${weight}: the tests on the way to its leaf`, "why-title"));
      const list = el("ol");
      for (const step of m.path) list.append(el("li", step));
      if (!m.path.length) list.append(el("li", "(no split yet: the tree answers from the class counts)"));
      box.append(list);
    }
    return box;
  }));
}

function show(item) {
  state.current = item;
  clearError();
  renderQueue();
  $("empty").hidden = !!item;
  $("item").hidden = !item;
  if (!item) return;
  $("reason").textContent = item.reason;
  $("reason").className = `reason ${item.reason}`;
  $("reason-text").textContent = item.reason_text;
  $("event-id").textContent = item.event_id;
  $("age").textContent = age(item.age_seconds);
  $("guess").textContent = item.prediction ?? "no guess yet";
  $("version").textContent = item.model_version;
  $("key-wrap").hidden = item.key === null || item.key === undefined;
  $("key").textContent = item.key === "" ? "events without a key (shared)" : (item.key ?? "");
  const probs = Object.entries(item.proba).sort((a, b) => b[1] - a[1]);
  $("bars").replaceChildren(...probs.map(([name, p]) => {
    const row = el("div", null, "bar");
    const track = el("div", null, "track");
    const fill = el("div", null, "fill"); fill.style.width = `${(p * 100).toFixed(1)}%`;
    track.append(fill);
    row.append(el("span", name, "name"), track, el("span", `${(p * 100).toFixed(1)}%`, "pct"));
    return row;
  }));
  renderWhy(item.explanation);
  table($("features"), item.features);
  $("meta-wrap").hidden = !item.meta || !Object.keys(item.meta).length;
  if (item.meta) table($("meta"), item.meta);
  $("answers").replaceChildren(...classes().map((c, i) => {
    const b = el("button", c);
    b.append(el("kbd", String(i + 1)));
    b.dataset.label = c;
    b.onclick = () => answer(c);
    return b;
  }));
}

// Claim first, show after: an item another analyst holds is never put in front of this one.
async function open(item) {
  try {
    await api(`/api/review/${encodeURIComponent(item.event_id)}/claim`, { method: "POST" });
    show(item);
    return true;
  } catch (e) {
    if (e.status === 409 || e.status === 404) return false;
    flash(e.message, true);
    return false;
  }
}

// The pool decides what comes next when it is asked (re-ranked as the model learns), and claims it for us.
async function openNext() {
  try {
    const item = await api("/api/review/next");
    show(item && item.event_id ? item : null);
  } catch (e) {
    flash(e.message, true);
    show(null);
  }
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
  if (still && !heldByOther(still)) {
    if (!still.claimed_by && !(await open(still))) { flash(`${still.event_id} was taken by another analyst.`, true); return openNext(); }
    renderQueue();
    return;
  }
  await openNext();
}

function comment() { const text = $("comment").value.trim(); return text ? text : null; }

async function answer(label) {
  if (state.busy || !state.current) return;
  state.busy = true;
  const id = state.current.event_id;
  try {
    const res = await api(`/api/review/${encodeURIComponent(id)}/label`, { method: "POST", body: JSON.stringify({ label, comment: comment() }) });
    $("comment").value = "";
    flash(`Answered ${res.event_id}: ${res.label}. Press u to undo.`);
    state.current = null;
    await refresh(false);
  } catch (e) { flash(`Could not answer: ${e.message}`, true); await refresh(false).catch(() => {}); }
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
  } catch (e) { flash(e.message, true); } finally { state.busy = false; }
}

async function undo(eventId) {
  const id = eventId || (state.me && state.me.undoable);
  if (state.busy || !id) return;
  state.busy = true;
  try {
    await api(`/api/review/${encodeURIComponent(id)}/undo`, { method: "POST" });
    flash(`Undid your answer to ${id}; it is back in the queue.`);
    state.current = null;
    await refresh(false);
    const again = state.items.find((i) => i.event_id === id);
    if (again) await open(again);
    if (state.panel === "mine") await showMine();
  } catch (e) { flash(`Could not undo: ${e.message}`, true); } finally { state.busy = false; }
}

async function change(eventId, label) {
  try {
    const res = await api(`/api/review/${encodeURIComponent(eventId)}/correct`, { method: "POST", body: JSON.stringify({ label }) });
    flash(`Changed your answer to ${res.event_id}: now ${res.label}. The model learns the correction.`);
    await showMine();
  } catch (e) { flash(`Could not change the answer: ${e.message}`, true); }
}

async function showMine() {
  const { answers } = await api("/api/review/answers?mine=true&limit=50");
  const rows = answers.filter((a) => a.status !== "retracted");
  $("mine-list").replaceChildren(...(rows.length ? rows : [null]).map((a) => {
    const tr = document.createElement("tr");
    if (!a) { tr.append(el("td", "No answers yet.")); return tr; }
    const action = el("td");
    if (a.can_undo) {
      const b = el("button", "Undo", "ghost"); b.onclick = () => undo(a.event_id); action.append(b);
    } else if (a.can_change) {
      const pick = el("select"); pick.setAttribute("aria-label", `new answer for ${a.event_id}`);
      for (const c of (state.me ? state.me.classes : [])) if (c !== a.label) pick.append(el("option", c));
      const b = el("button", "Change", "ghost");
      b.onclick = () => { if (pick.value) change(a.event_id, pick.value); };
      if (pick.options.length) action.append(pick, b);
    }
    tr.append(el("td", a.event_id), el("td", a.label), el("td", a.answered_at), el("td", a.comment || ""), action);
    return tr;
  }));
}

async function toggle(panel) {
  state.panel = state.panel === panel ? null : panel;
  $("mine").hidden = state.panel !== "mine";
  $("guide").hidden = state.panel !== "guide";
  if (state.panel === "mine") await showMine().catch((e) => flash(e.message, true));
  if (state.panel === "guide") {
    const { html } = await api("/api/review/guidelines");
    // rendered by the service from Markdown with raw HTML disabled; the CSP allows no inline script
    $("guide-body").innerHTML = html || "<p>No guidelines were configured (STREAMAL_REVIEW_GUIDELINES).</p>";
  }
}

document.addEventListener("keydown", (ev) => {
  if ($("desk").hidden || ["INPUT", "TEXTAREA", "SELECT"].includes(ev.target.tagName) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (/^[1-9]$/.test(ev.key)) {
    const c = classes()[Number(ev.key) - 1];
    if (c) { ev.preventDefault(); answer(c); }
  } else if (ev.key === "s") { ev.preventDefault(); skip(); }
  else if (ev.key === "u") { ev.preventDefault(); undo(); }
  else if (ev.key === "m") { ev.preventDefault(); toggle("mine"); }
  else if (ev.key === "g") { ev.preventDefault(); toggle("guide"); }
});
$("skip").onclick = skip;
$("new-label").onsubmit = (ev) => {
  ev.preventDefault();
  const text = $("new-label-text").value.trim();
  if (text) { $("new-label-text").value = ""; answer(text); }
};
$("undo").onclick = () => undo();
$("sign-out").onclick = signOutByHand;
$("show-mine").onclick = () => toggle("mine");
$("show-guide").onclick = () => toggle("guide");
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
  $("sign-out").hidden = false;
  try { await refresh(false); } catch (e) { return; }
  state.timer = setInterval(() => { if (!state.busy) refresh(true).catch(() => {}); }, 2000);
}
start();
