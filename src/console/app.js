// The vod-tender console: a client of the /control WebSocket (docs/control-protocol.md),
// nothing else. State comes from one channels.list on connect, then from events.

const PROTOCOL = "vod-tender.control.v1";
const TOKEN_KEY = "vod-tender.control-token";
const MAX_LOG = 200;

const $ = (id) => document.getElementById(id);

/** Creates an element; string children become text (never HTML). */
const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
};

const timeOf = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString();
};

// ---------------------------------------------------------------------------
// Token

const takeTokenFromUrl = () => {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  // The token must not stay in the address bar or the history.
  history.replaceState(null, "", location.pathname + location.search);
};

// ---------------------------------------------------------------------------
// Connection

const state = {
  socket: null,
  nextId: 1,
  pending: new Map(),
  channels: new Map(), // name → status
  tree: new Map(), // channel → Map(actor path → state)
  transitions: [], // recent transitions, newest first
  selected: null, // "channel/actor path"
  retryMs: 500,
  everOpened: false,
};

const setConnection = (kind, text) => {
  const pill = $("connection");
  pill.dataset.state = kind;
  pill.textContent = text;
};

const request = (command, params) =>
  new Promise((resolve, reject) => {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return reject(new Error("not connected"));
    const id = state.nextId++;
    state.pending.set(id, { resolve, reject });
    socket.send(JSON.stringify(params === undefined ? { id, command } : { id, command, params }));
  });

const connect = () => {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return showLogin("");
  setConnection("connecting", "connecting…");
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/control`;
  let hello = false;
  const socket = new WebSocket(url, [PROTOCOL, `bearer.${token}`]);
  state.socket = socket;

  socket.addEventListener("message", (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.type === "hello") {
      hello = true;
      state.everOpened = true;
      state.retryMs = 500;
      $("server").textContent = `${frame.server} · protocol ${frame.protocol}`;
      setConnection("open", "connected");
      $("login").hidden = true;
      $("app").hidden = false;
      void start();
      return;
    }
    if (frame.type === "event") return onEvent(frame.event);
    if ("id" in frame) {
      const waiter = state.pending.get(frame.id);
      if (!waiter) {
        if (frame.error) banner("error", `${frame.error.code}: ${frame.error.message}`);
        return;
      }
      state.pending.delete(frame.id);
      if (frame.error) waiter.reject(Object.assign(new Error(frame.error.message), { code: frame.error.code }));
      else waiter.resolve(frame.result);
    }
  });

  socket.addEventListener("close", () => {
    for (const waiter of state.pending.values()) waiter.reject(new Error("connection closed"));
    state.pending.clear();
    if (state.socket !== socket) return;
    state.socket = null;
    // Refused before the hello: almost always a wrong token.
    if (!hello && !state.everOpened) {
      setConnection("refused", "refused");
      return showLogin("The server refused this token.");
    }
    setConnection("closed", `disconnected, retrying in ${Math.round(state.retryMs / 1000)} s`);
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 15_000);
  });
};

const showLogin = (message) => {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
};

const start = async () => {
  try {
    await request("subscribe", {});
    const { channels } = await request("channels.list");
    state.channels.clear();
    state.tree.clear();
    for (const channel of channels) upsertChannel(channel);
    renderAll();
  } catch (error) {
    banner("error", `could not load channels: ${error.message}`);
  }
};

// ---------------------------------------------------------------------------
// State updates from replies and events

const upsertChannel = (status) => {
  state.channels.set(status.name, status);
  const actors = new Map([["channel", status.state]]);
  if (status.tree) {
    // Paths as transition events name them: "processor", "processor.breaker", ...
    const walk = (node, prefix) => {
      for (const child of node.children) {
        const path = prefix ? `${prefix}.${child.actor}` : child.actor;
        actors.set(path, child.state);
        walk(child, path);
      }
    };
    walk(status.tree, "");
  } else {
    for (const [child, childState] of Object.entries(status.children)) actors.set(child, childState);
    if (status.breaker) actors.set("processor.breaker", status.breaker);
  }
  state.tree.set(status.name, actors);
  scheduleRender(status.name);
};

const refreshChannel = async (name) => {
  try {
    const { channels } = await request("channels.status", { name });
    if (channels[0]) upsertChannel(channels[0]);
  } catch (error) {
    if (error.code === "not_found") removeChannel(name);
  }
};

const removeChannel = (name) => {
  state.channels.delete(name);
  state.tree.delete(name);
  scheduleRender(name);
};

const onEvent = (event) => {
  const channel = event.channel;
  const status = channel ? state.channels.get(channel) : undefined;
  switch (event.topic) {
    case "transition": {
      state.transitions.unshift(event);
      state.transitions.length = Math.min(state.transitions.length, MAX_LOG);
      if (!channel) break;
      const actors = state.tree.get(channel) ?? new Map();
      actors.set(event.actor, event.to);
      state.tree.set(channel, actors);
      if (status) {
        if (event.actor === "channel") status.state = event.to;
        else if (event.actor === "processor.breaker" || event.actor === "breaker") status.breaker = event.to;
        else status.children = { ...status.children, [event.actor]: event.to };
      }
      scheduleRender(channel);
      break;
    }
    case "progress":
      if (status) {
        status.download = { vodId: event.vodId, percent: event.percent, bytes: event.bytes, total: event.total };
        scheduleRender(channel, false);
      }
      break;
    case "chat_rate":
      if (status) {
        status.chatRate = event.perMinute;
        scheduleRender(channel, false);
      }
      break;
    case "restart":
      if (status) status.restarts += 1;
      logActivity("restart", event, `${event.actor} restarted (attempt ${event.attempt}): ${event.reason}`);
      if (channel) scheduleRender(channel, false);
      break;
    case "error":
      logActivity("error", event, `${event.actor ? `${event.actor}: ` : ""}${event.message}`);
      if (status) {
        status.lastError = { message: event.message, at: event.at };
        scheduleRender(channel, false);
      }
      break;
    case "channel":
      if (event.change === "removed") removeChannel(channel);
      else void refreshChannel(channel);
      break;
    case "config": {
      const r = event.report;
      if (r.ok) {
        const parts = [`+${r.added.length}`, `-${r.removed.length}`, `~${r.updated.length}`];
        banner(r.failed.length ? "error" : "ok", `channels reloaded (${event.trigger}): ${parts.join(" ")}${r.failed.map((f) => `\n${f.channel}: ${f.message}`).join("")}`);
      } else {
        banner("error", `channels file rejected (${event.trigger}); the running configuration is kept:\n${r.errors.map((e) => e.message).join("\n")}`);
        logActivity("error", event, `channels file rejected: ${r.errors.map((e) => e.message).join("; ")}`);
      }
      break;
    }
  }
};

const logActivity = (kind, event, text) => {
  const list = $("activity");
  list.prepend(h("li", { class: `kind-${kind}` }, h("time", {}, timeOf(event.at)), event.channel ? `${event.channel}: ` : "", text));
  while (list.children.length > MAX_LOG) list.lastElementChild.remove();
};

const banner = (kind, text) => {
  const el = $("banner");
  el.hidden = false;
  el.dataset.kind = kind;
  el.textContent = text;
};

// ---------------------------------------------------------------------------
// Rendering (batched per animation frame; only changed rows are rebuilt)

const dirty = new Set();
let renderQueued = false;
// The tree and transition log change only with transitions and channel changes,
// not with progress or chat rates, which can arrive many times a second.
let treeDirty = false;
const scheduleRender = (name, tree = true) => {
  dirty.add(name);
  if (tree) treeDirty = true;
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const names = [...dirty];
    dirty.clear();
    for (const n of names) renderRow(n);
    renderSummary();
    if (treeDirty) {
      treeDirty = false;
      renderTree();
      renderTransitions();
    }
  });
};

const rows = new Map();

const formatBytes = (n) => {
  if (n === null || n === undefined) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};

const act = async (button, command, params) => {
  button.disabled = true;
  try {
    await request(command, params);
  } catch (error) {
    banner("error", `${command} ${params.name}: ${error.message}`);
  } finally {
    button.disabled = false;
  }
};

const buildRow = (c) => {
  const download = c.download
    ? h(
        "span",
        {},
        h("progress", { max: 100, value: c.download.percent ?? undefined, title: `VOD ${c.download.vodId}` }),
        ` ${c.download.percent === null ? "" : `${c.download.percent.toFixed(1)}% `}${formatBytes(c.download.bytes)}`,
      )
    : h("span", { class: "muted" }, "—");
  const children = h(
    "span",
    { class: "children" },
    Object.entries(c.children).map(([name, s]) => h("span", {}, `${name}: `, h("span", { class: "state", dataset: { state: s } }, s))),
  );
  const pauseButton = c.paused
    ? h("button", { type: "button", onclick: (e) => act(e.currentTarget, "channels.resume", { name: c.name }) }, "Resume")
    : h("button", { type: "button", onclick: (e) => act(e.currentTarget, "channels.pause", { name: c.name }) }, "Pause");
  const removeButton = h(
    "button",
    {
      type: "button",
      class: "danger",
      title: c.source === "control" ? "stop and forget this channel" : `defined by ${c.source === "file" ? "the channels file" : "the environment"}`,
      onclick: (e) => {
        if (confirm(`Remove channel ${c.name}? Its actors stop; recorded data stays.`)) void act(e.currentTarget, "channels.remove", { name: c.name });
      },
    },
    "Remove",
  );
  return h(
    "tr",
    { dataset: { channel: c.name } },
    h("td", {}, c.name),
    h("td", { class: "muted" }, c.source),
    h(
      "td",
      {},
      h("span", { class: "state", dataset: { state: c.state }, title: c.reason ?? "" }, c.state),
      c.reason ? h("div", { class: "muted" }, c.reason) : null,
      c.lastError ? h("div", { class: "error", title: c.lastError.at }, c.lastError.message) : null,
    ),
    h("td", {}, c.breaker ? h("span", { class: "state", dataset: { state: c.breaker } }, c.breaker) : h("span", { class: "muted" }, "—")),
    h("td", {}, children),
    h("td", {}, download),
    h("td", {}, c.chatRate === null ? h("span", { class: "muted" }, "—") : String(Math.round(c.chatRate))),
    h("td", {}, String(c.restarts)),
    h("td", { class: "actions" }, pauseButton, removeButton),
  );
};

const matchesFilter = (name) => {
  const text = $("filter").value.trim().toLowerCase();
  return text === "" || name.includes(text);
};

const renderRow = (name) => {
  const tbody = $("channels").tBodies[0];
  const c = state.channels.get(name);
  const old = rows.get(name);
  if (!c) {
    old?.remove();
    rows.delete(name);
    return;
  }
  const row = buildRow(c);
  row.hidden = !matchesFilter(name);
  if (old) old.replaceWith(row);
  else {
    // Keep rows sorted by name.
    const after = [...rows.keys()].filter((n) => n > name).sort()[0];
    tbody.insertBefore(row, after ? rows.get(after) : null);
  }
  rows.set(name, row);
};

const renderAll = () => {
  $("channels").tBodies[0].replaceChildren();
  rows.clear();
  for (const name of [...state.channels.keys()].sort()) renderRow(name);
  renderSummary();
  renderTree();
  renderTransitions();
};

const renderSummary = () => {
  const all = [...state.channels.values()];
  const running = all.filter((c) => c.state === "running").length;
  $("channel-count").textContent = `${all.length} (${running} running)`;
  const select = $("search-channel");
  const current = select.value;
  const names = [...state.channels.keys()].sort();
  if (select.options.length - 1 !== names.length) {
    select.replaceChildren(h("option", { value: "" }, "all channels"), ...names.map((n) => h("option", { value: n }, n)));
    select.value = names.includes(current) ? current : "";
  }
};

// The tree: supervisor → channel → children; "processor.breaker" nests under "processor".
const renderTree = () => {
  const root = h("ul");
  const supervisor = h("li", {}, "supervisor");
  const channelsList = h("ul");
  for (const name of [...state.tree.keys()].sort()) {
    const actors = state.tree.get(name);
    const nodes = new Map();
    const node = (path, label, actorState) => {
      const key = `${name}/${path}`;
      const li = h(
        "li",
        {},
        h(
          "button",
          { type: "button", "aria-pressed": state.selected === key ? "true" : "false", onclick: () => select(key) },
          `${label} `,
          h("span", { class: "state", dataset: { state: actorState ?? "" } }, actorState ?? "?"),
        ),
      );
      nodes.set(path, li);
      return li;
    };
    const channelNode = node("channel", name, actors.get("channel"));
    const childList = h("ul");
    const paths = [...actors.keys()].filter((p) => p !== "channel").sort();
    for (const path of paths) {
      const parts = path.split(".");
      const li = node(path, parts[parts.length - 1], actors.get(path));
      const parent = parts.length > 1 ? nodes.get(parts.slice(0, -1).join(".")) : undefined;
      if (parent) {
        let ul = parent.querySelector(":scope > ul");
        if (!ul) parent.append((ul = h("ul")));
        ul.append(li);
      } else childList.append(li);
    }
    if (childList.children.length) channelNode.append(childList);
    channelsList.append(channelNode);
  }
  supervisor.append(channelsList);
  root.append(supervisor);
  $("tree").replaceChildren(root);
};

const select = (key) => {
  state.selected = state.selected === key ? null : key;
  renderTree();
  renderTransitions();
};

const renderTransitions = () => {
  const list = $("transitions");
  const shown = state.transitions
    .filter((t) => {
      if (!state.selected) return true;
      const [channel, path] = state.selected.split("/");
      return t.channel === channel && (path === "channel" || t.actor === path || t.actor.startsWith(`${path}.`));
    })
    .slice(0, 50);
  list.replaceChildren(
    ...shown.map((t) => h("li", {}, h("time", {}, timeOf(t.at)), `${t.channel} ${t.actor}: ${t.from ?? "∅"} → ${t.to}${t.cause ? ` (${t.cause})` : ""}`)),
  );
};

// ---------------------------------------------------------------------------
// Forms

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  state.everOpened = false;
  connect();
});

$("add-channel").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = e.submitter ?? e.target.querySelector("button");
  const name = $("add-name").value.trim();
  $("add-error").textContent = "";
  button.disabled = true;
  try {
    const { channel } = await request("channels.add", { name, paused: $("add-paused").checked });
    upsertChannel(channel);
    $("add-name").value = "";
  } catch (error) {
    $("add-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
});

$("filter").addEventListener("input", () => {
  for (const [name, row] of rows) row.hidden = !matchesFilter(name);
});

$("search").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("search-error").textContent = "";
  const params = { query: $("search-query").value.trim(), limit: 100 };
  const channel = $("search-channel").value;
  if (channel) params.channel = channel;
  const tbody = $("search-results").tBodies[0];
  try {
    const { messages } = await request("chat.search", params);
    tbody.replaceChildren(
      ...messages.map((m) =>
        h(
          "tr",
          {},
          h("td", {}, new Date(m.at).toLocaleString()),
          h("td", {}, m.channel),
          h("td", {}, m.displayName ?? m.username ?? ""),
          h("td", {}, m.message),
          h("td", {}, m.vodId === null ? "" : h("button", { type: "button", onclick: () => openHit(m) }, "In VOD")),
        ),
      ),
    );
    if (messages.length === 0) tbody.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "no messages found")));
  } catch (error) {
    $("search-error").textContent = error.message;
  }
});

// ---------------------------------------------------------------------------
// A VOD's chat around a search hit, page by page, with the windows it was not recorded

const clockTime = (seconds) => {
  const whole = Math.floor(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  return `${Math.floor(whole / 3600)}:${pad(Math.floor((whole % 3600) / 60))}:${pad(whole % 60)}`;
};

const vodChat = { vodId: null, from: 0, nextFrom: null, mark: null };

const openVodChat = async (vodId, from, mark = null, to = undefined) => {
  $("vod-chat-error").textContent = "";
  try {
    const page = await request("chat.vod", { id: vodId, from, ...(to === undefined ? {} : { to }), limit: 200 });
    // A page cut short by `to` (an earlier page) goes on from there.
    Object.assign(vodChat, { vodId, from, nextFrom: page.nextFrom ?? to ?? null, mark });
    const lines = page.messages.map((m) => ({
      at: m.offsetSeconds ?? 0,
      el: h(
        "li",
        { class: m.msgId === mark ? "hit" : undefined },
        h("time", {}, m.offsetSeconds === null ? "?" : clockTime(m.offsetSeconds)),
        `${m.displayName ?? m.username ?? "?"}: ${m.message}`,
        m.deletedAt === null ? "" : h("span", { class: "muted" }, " (deleted)"),
      ),
    }));
    const first = lines[0]?.at ?? from;
    const last = lines.at(-1)?.at ?? Number.POSITIVE_INFINITY;
    for (const g of page.gaps) {
      if ((g.toSeconds ?? Number.POSITIVE_INFINITY) < first || (g.fromSeconds ?? 0) > last) continue;
      const span = `${g.fromSeconds === null ? "?" : clockTime(g.fromSeconds)}–${g.toSeconds === null ? "now" : clockTime(g.toSeconds)}`;
      lines.push({ at: g.fromSeconds ?? 0, el: h("li", { class: "gap" }, `not recorded ${span} (${g.reason})`) });
    }
    lines.sort((a, b) => a.at - b.at);
    $("vod-chat-title").textContent = `VOD ${vodId} chat from ${clockTime(from)}`;
    $("vod-chat-lines").replaceChildren(...(lines.length === 0 ? [h("li", { class: "muted" }, "no chat here")] : lines.map((l) => l.el)));
    $("vod-chat-later").disabled = vodChat.nextFrom === null;
    $("vod-chat-earlier").disabled = from === 0;
    $("vod-chat").hidden = false;
    $("vod-chat-lines").querySelector("li.hit")?.scrollIntoView({ block: "center" });
  } catch (error) {
    $("vod-chat-error").textContent = error.message;
    $("vod-chat").hidden = false;
  }
};

// A few seconds before the hit; when chat is so busy that the hit is not on that page, from the hit itself.
const openHit = async (hit) => {
  const at = hit.offsetSeconds ?? 0;
  await openVodChat(hit.vodId, Math.max(0, at - 5), hit.msgId);
  if (vodChat.nextFrom !== null && !$("vod-chat-lines").querySelector("li.hit")) await openVodChat(hit.vodId, at, hit.msgId);
};

$("vod-chat-later").addEventListener("click", () => {
  if (vodChat.nextFrom !== null) void openVodChat(vodChat.vodId, vodChat.nextFrom, vodChat.mark);
});
$("vod-chat-earlier").addEventListener("click", () => {
  void openVodChat(vodChat.vodId, Math.max(0, vodChat.from - 60), vodChat.mark, vodChat.from);
});

takeTokenFromUrl();
connect();
