// formc chat page: a chat box on Rasa's REST channel + the bot's graph with the current state.
// Served by formc itself (no CDN). Talks to: POST /webhooks/rest/webhook,
// GET /conversations/{id}/tracker, GET /conversations/{id}/trace, GET /chat/graph.json|svg.
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  let sender = params.get("sender") || newSender();
  let graph = null;          // /chat/graph.json
  let lastSlots = null;   // the slots shown before this turn (null: nothing shown yet)
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";

  function newSender() {
    const bytes = new Uint8Array(6);
    crypto.getRandomValues(bytes);
    return "chat-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function withToken(url) {
    if (!token) return url;
    return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
  }

  async function getJSON(url) {
    const resp = await fetch(withToken(url), { headers: { Accept: "application/json" } });
    if (!resp.ok) throw new Error(url + " -> HTTP " + resp.status);
    return resp.json();
  }

  // ------------------------------------------------------------------ chat

  function addMessage(kind, text) {
    const li = document.createElement("li");
    li.className = "msg " + kind;
    li.textContent = text || "";
    $("messages").appendChild(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  function addBotMessage(m) {
    const li = addMessage("bot", m.text || "");
    if (m.image) {
      const a = document.createElement("a");   // a link, not <img>: no third-party fetches
      a.className = "image";
      a.href = m.image;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = "[image] " + m.image;
      li.appendChild(a);
    }
    if (Array.isArray(m.buttons) && m.buttons.length) {
      const box = document.createElement("div");
      box.className = "buttons";
      for (const b of m.buttons) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title || b.payload;
        btn.addEventListener("click", () => send(b.payload, b.title));
        box.appendChild(btn);
      }
      li.appendChild(box);
    }
    if (m.custom) {
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(m.custom, null, 2);
      li.appendChild(pre);
    }
  }

  let busy = Promise.resolve();
  function send(message, shown) {
    busy = busy.then(() => sendNow(message, shown));
    return busy;
  }

  async function sendNow(message, shown) {
    addMessage("user", shown || message);
    document.body.dataset.busy = "1";
    try {
      const resp = await fetch(withToken("/webhooks/rest/webhook"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: sender, message: message }),
      });
      const data = await resp.json();
      if (!resp.ok) {
        addMessage("error", (data && data.message) || ("HTTP " + resp.status));
      } else {
        for (const m of data) addBotMessage(m);
      }
      await refresh();
    } catch (err) {
      addMessage("error", String(err));
    } finally {
      document.body.dataset.turns = String(Number(document.body.dataset.turns || 0) + 1);
      delete document.body.dataset.busy;
    }
  }

  // ------------------------------------------------------------------ machine state

  async function refresh() {
    let tracker = null;
    let trace = null;
    try { tracker = await getJSON("/conversations/" + encodeURIComponent(sender) + "/tracker"); } catch (e) { /* no tracker yet */ }
    try { trace = await getJSON("/conversations/" + encodeURIComponent(sender) + "/trace?limit=1"); } catch (e) { /* optional */ }
    if (!tracker) return;
    const slots = tracker.slots || {};
    const loop = tracker.active_loop && tracker.active_loop.name ? tracker.active_loop.name : null;
    // The bot's last action other than action_listen (after a turn the tracker always ends
    // with action_listen, which tells nothing about where the conversation is).
    let lastAction = null;
    for (const ev of tracker.events || []) {
      if (ev.event === "action" && ev.name && ev.name !== "action_listen") lastAction = ev.name;
      if (ev.event === "restart" || ev.event === "session_started") lastAction = null;
    }
    $("active-loop").textContent = loop || "none";
    $("last-action").textContent = lastAction || "-";
    showSlots(slots);
    const turn = trace && Array.isArray(trace.turns) && trace.turns.length ? trace.turns[trace.turns.length - 1] : null;
    const state = locate({ active_loop: loop, requested_slot: slots.requested_slot || null, prev_action: lastAction }, turn);
    highlight(state, turn);
  }

  function showSlots(slots) {
    const body = $("slots").querySelector("tbody");
    body.textContent = "";
    for (const name of Object.keys(slots).sort()) {
      const tr = document.createElement("tr");
      tr.dataset.slot = name;
      const value = slots[name];
      // highlight what this turn changed; the first view shows initial values, not news
      const before = lastSlots && name in lastSlots ? lastSlots[name] : null;
      if (lastSlots && JSON.stringify(value ?? null) !== JSON.stringify(before ?? null)) tr.className = "changed";
      const a = document.createElement("td");
      a.textContent = name;
      const b = document.createElement("td");
      b.textContent = value === null || value === undefined ? "-" : JSON.stringify(value);
      tr.append(a, b);
      body.appendChild(tr);
    }
    lastSlots = slots;
  }

  // The trace may name the state the turn ended in; otherwise match the tracker against each
  // state's description (active loop, requested slot, last action).
  function locate(now, turn) {
    if (!graph) return null;
    const ids = new Set(graph.states.map((s) => s.id));
    const named = turnState(turn);
    if (named && ids.has(named)) return named;
    // The last transition the turn took (when the server records them) ends where we are.
    const taken = takenIds(turn);
    for (let i = taken.length - 1; i >= 0; i--) {
      const edge = graph.transitions.find((e) => e.ids.includes(taken[i]));
      if (edge && ids.has(edge.target)) return edge.target;
    }
    let best = null;
    let bestScore = -1;
    for (const s of graph.states) {
      const m = s.match || {};
      let score = 0;
      let ok = true;
      for (const key of Object.keys(m)) {
        if (m[key] === now[key]) score += 1;
        else { ok = false; break; }
      }
      if (ok && score > bestScore) { best = s.id; bestScore = score; }
    }
    return best;
  }

  function turnState(turn) {
    const t = turn && turn.trace;
    if (!t || typeof t !== "object") return null;
    if (Array.isArray(t)) {
      for (let i = t.length - 1; i >= 0; i--) {
        const s = t[i] && (t[i].state || t[i].to_state || t[i].target);
        if (typeof s === "string") return s;
      }
      return null;
    }
    for (const key of ["state", "to_state", "end_state", "target"]) {
      if (typeof t[key] === "string") return t[key];
    }
    return null;
  }

  function highlight(stateId, turn) {
    const svg = $("graph").querySelector("svg");
    if (!svg) return;
    svg.querySelectorAll(".node.current").forEach((n) => n.classList.remove("current"));
    svg.querySelectorAll(".taken").forEach((n) => n.classList.remove("taken"));
    const state = graph && graph.states.find((s) => s.id === stateId);
    $("current-state").textContent = state ? state.label : "(start)";
    document.body.dataset.state = stateId || "";
    if (!stateId) return;
    const node = svg.querySelector('[data-state="' + cssEscape(stateId) + '"]') ||
      svg.getElementById("state_" + domId(stateId));
    if (node) {
      node.classList.add("current");
      centre(node);
    }
    for (const domIdOfEdge of takenEdges(turn)) {
      const edge = svg.getElementById(domIdOfEdge);
      if (edge) edge.classList.add("taken");
    }
  }

  // Transition ids of a stored turn: its own "transitions" list, the trace's, or per step.
  function takenIds(turn) {
    if (!turn) return [];
    const t = turn.trace;
    const ids = [];
    if (Array.isArray(turn.transitions)) ids.push(...turn.transitions);
    if (t && !Array.isArray(t) && Array.isArray(t.transitions)) ids.push(...t.transitions);
    const steps = Array.isArray(t) ? t : (t && Array.isArray(t.steps) ? t.steps : []);
    for (const step of steps) {
      if (step && typeof step.transition === "string") ids.push(step.transition);
    }
    return ids.filter((id) => typeof id === "string");
  }

  // Edges taken in the last turn: by transition id when the trace has them, else by the rule
  // ("why") and action each trace step reports.
  function takenEdges(turn) {
    const out = new Set();
    const t = turn && turn.trace;
    if (!graph || !t) return out;
    const steps = Array.isArray(t) ? t : (Array.isArray(t.steps) ? t.steps : []);
    const ids = takenIds(turn);
    for (const e of graph.transitions) {
      if (e.ids.some((id) => ids.includes(id))) { out.add(e.dom); continue; }
      for (const step of steps) {
        if (step && step.action && typeof step.why === "string" && e.why &&
            step.why.startsWith(e.why) && e.actions.includes(step.action)) out.add(e.dom);
      }
    }
    return out;
  }

  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/"/g, '\\"'); }
  function domId(s) { return String(s).replace(/[^A-Za-z0-9_-]/g, "_"); }

  // ------------------------------------------------------------------ graph

  async function loadGraph() {
    graph = await getJSON("/chat/graph.json");
    $("bot-name").textContent = graph.name ? "- " + graph.name : "";
    let svgText = null;
    if (graph.svg) {
      try {
        const resp = await fetch(withToken("/chat/graph.svg"));
        if (resp.ok) svgText = await resp.text();
      } catch (e) { /* fall back to the built-in layout */ }
    }
    const box = $("graph");
    if (svgText) {
      const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
      const svg = doc.documentElement;
      // Graphviz writes node ids as given in DOT ("state_..."); expose them as data-state too.
      const byDom = new Map(graph.states.map((s) => ["state_" + domId(s.id), s.id]));
      svg.querySelectorAll("g.node").forEach((g) => {
        if (byDom.has(g.id)) g.setAttribute("data-state", byDom.get(g.id));
      });
      box.appendChild(document.importNode(svg, true));
      box.dataset.renderer = "graphviz";
    } else {
      box.appendChild(builtinLayout(graph));
      box.dataset.renderer = "builtin";
    }
    // Fit the whole machine into the panel; the Zoom button shows it at natural size.
    const shown = box.querySelector("svg");
    if (shown && !shown.getAttribute("viewBox")) {
      shown.setAttribute("viewBox", "0 0 " + shown.getAttribute("width") + " " + shown.getAttribute("height"));
    }
    box.classList.add("fit");
    $("zoom").addEventListener("click", () => {
      box.classList.toggle("fit");
      centre(box.querySelector(".node.current"));
    });
  }

  // Zoomed in (natural size), keep the current state in the middle of the panel.
  function centre(node) {
    const box = $("graph");
    if (!node || box.classList.contains("fit")) return;
    const n = node.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    box.scrollLeft += n.left + n.width / 2 - (b.left + b.width / 2);
    box.scrollTop += n.top + n.height / 2 - (b.top + b.height / 2);
  }

  // A simple layered layout: breadth-first layers from the initial state, one column per layer.
  function builtinLayout(g) {
    const layer = new Map();
    const out = new Map(g.states.map((s) => [s.id, []]));
    for (const t of g.transitions) if (out.has(t.source)) out.get(t.source).push(t.target);
    const start = g.initial || (g.states[0] && g.states[0].id);
    const queue = start ? [start] : [];
    if (start) layer.set(start, 0);
    while (queue.length) {
      const id = queue.shift();
      for (const next of out.get(id) || []) {
        if (!layer.has(next)) { layer.set(next, layer.get(id) + 1); queue.push(next); }
      }
    }
    let maxLayer = Math.max(0, ...layer.values());
    for (const s of g.states) if (!layer.has(s.id)) layer.set(s.id, maxLayer + 1);
    const columns = new Map();
    for (const s of g.states) {
      const l = layer.get(s.id);
      if (!columns.has(l)) columns.set(l, []);
      columns.get(l).push(s);
    }
    const W = 190, H = 54, NW = 160, NH = 34;
    const pos = new Map();
    let rows = 0;
    for (const [l, list] of columns) {
      list.forEach((s, i) => pos.set(s.id, { x: 20 + l * W, y: 20 + i * H }));
      rows = Math.max(rows, list.length);
    }
    const svg = document.createElementNS(SVGNS, "svg");
    const width = 40 + (Math.max(...columns.keys()) + 1) * W;
    svg.setAttribute("width", width);
    svg.setAttribute("height", 40 + rows * H);
    for (const t of g.transitions) {
      const a = pos.get(t.source), b = pos.get(t.target);
      if (!a || !b) continue;
      const grp = document.createElementNS(SVGNS, "g");
      grp.setAttribute("class", "edge");
      grp.setAttribute("id", "t_" + domId(t.id));
      const path = document.createElementNS(SVGNS, "path");
      const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2;
      const d = t.source === t.target
        ? `M${a.x + NW - 20},${a.y} c 20,-25 40,-5 20,10`
        : `M${x1},${y1} C${x1 + 30},${y1} ${x2 - 30},${y2} ${x2},${y2}`;
      path.setAttribute("d", d);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "#9aa5b1");
      const title = document.createElementNS(SVGNS, "title");
      title.textContent = t.label || "";
      grp.append(title, path);
      svg.appendChild(grp);
    }
    for (const s of g.states) {
      const p = pos.get(s.id);
      const grp = document.createElementNS(SVGNS, "g");
      grp.setAttribute("class", "node");
      grp.setAttribute("id", "state_" + domId(s.id));
      grp.setAttribute("data-state", s.id);
      const rect = document.createElementNS(SVGNS, "rect");
      rect.setAttribute("x", p.x); rect.setAttribute("y", p.y);
      rect.setAttribute("width", NW); rect.setAttribute("height", NH);
      rect.setAttribute("rx", 8);
      rect.setAttribute("fill", s.form ? "#e0ecff" : "#f0f4f8");
      rect.setAttribute("stroke", "#486581");
      const text = document.createElementNS(SVGNS, "text");
      text.setAttribute("x", p.x + NW / 2); text.setAttribute("y", p.y + NH / 2 + 4);
      text.setAttribute("text-anchor", "middle");
      text.setAttribute("font-size", "11");
      text.textContent = s.label.length > 26 ? s.label.slice(0, 25) + "…" : s.label;
      const title = document.createElementNS(SVGNS, "title");
      title.textContent = s.label;
      grp.append(title, rect, text);
      svg.appendChild(grp);
    }
    return svg;
  }

  // ------------------------------------------------------------------ wiring

  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("input").value.trim();
    if (!text) return;
    $("input").value = "";
    send(text);
  });
  $("reset").addEventListener("click", () => {
    sender = newSender();
    lastSlots = null;
    $("messages").textContent = "";
    $("slots").querySelector("tbody").textContent = "";
    highlight(null, null);
    $("active-loop").textContent = "none";
    $("last-action").textContent = "-";
  });

  loadGraph()
    .catch((err) => addMessage("error", "graph unavailable: " + err))
    .then(() => highlight(graph ? graph.initial : null, null))
    .finally(() => { document.body.dataset.ready = "1"; });
})();
