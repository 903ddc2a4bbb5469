// The console: hash routes (shareable, testable), one server interface for both doors.
import { clearStatus, h, replaceChildren } from "./dom.js";
import { HostBridge, HttpServer } from "./mcp.js";
import { memoriesView } from "./views/memories.js";
import { personasView, personaView } from "./views/personas.js";
import { conversationView, conversationsView, maintenanceView, moodView, relationshipsView } from "./views/social.js";

const TOKEN_KEY = "persona-console-token";
let server = null;
let preset = null; // a tool result the host handed the app, shown instead of asking again
let renders = 0; // the newest route wins: an older one still loading is dropped

function routeOf(hash) {
  const [path, query] = (hash.replace(/^#/, "") || "/personas").split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || "") };
}

async function show() {
  const ticket = ++renders;
  const main = document.getElementById("main");
  const page = h("div"); // views render here; it replaces the page only if no newer route came
  const { parts, params } = routeOf(location.hash);
  for (const link of document.querySelectorAll("#nav a")) {
    link.toggleAttribute("aria-current", location.hash.startsWith(link.getAttribute("href")));
  }
  const given = preset;
  preset = null;
  clearStatus();
  main.setAttribute("aria-busy", "true");
  const started = performance.now();
  try {
    if (parts[0] === "personas" && parts.length === 1) await personasView(server, page);
    else if (parts[0] === "personas" && parts.length === 2) await personaView(server, page, parts[1]);
    else if (parts[0] === "personas" && parts[2] === "memories") await memoriesView(server, page, parts[1], params, given);
    else if (parts[0] === "personas" && parts[2] === "relationships") await relationshipsView(server, page, parts[1], given);
    else if (parts[0] === "personas" && parts[2] === "mood") await moodView(server, page, parts[1], given);
    else if (parts[0] === "conversations" && parts.length === 1) await conversationsView(server, page);
    else if (parts[0] === "conversations") await conversationView(server, page, parts[1]);
    else if (parts[0] === "maintenance") await maintenanceView(server, page);
    else replaceChildren(page, h("h2", {}, "Not found"), h("p", {}, h("a", { href: "#/personas" }, "All personas")));
  } catch (error) {
    if (error.tool === "login") return signIn(error.message);
    replaceChildren(page, h("h2", {}, "Could not show this page"), h("p", { class: "status error", role: "alert" }, error.message));
  }
  if (ticket !== renders) return;
  replaceChildren(main, ...page.childNodes);
  main.removeAttribute("aria-busy");
  main.dataset.renderMs = String(Math.round(performance.now() - started));
  const heading = main.querySelector("h2");
  if (heading) heading.setAttribute("tabindex", "-1");
}

function signIn(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  const main = document.getElementById("main");
  const form = h(
    "form",
    { id: "sign-in" },
    h("p", {}, reason || "This server asks for a token."),
    h("label", {}, "Token", h("input", { type: "password", name: "token", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, String(new FormData(form).get("token")));
    location.reload();
  });
  replaceChildren(main, h("h2", {}, "Sign in"), form);
}

async function redeem(code) {
  // A one-time login link (persona-mcp console): the code buys this tab its token, once.
  const response = await fetch("login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code }) });
  if (!response.ok) throw new Error("This login link was used already, or has expired: run persona-mcp console again.");
  const { token } = await response.json();
  sessionStorage.setItem(TOKEN_KEY, token);
}

function fromHost(params) {
  // The result of the tool the host ran: route to its view and show it as given.
  const name = (server.context.toolInfo?.tool?.name || "").replace(".", "_");
  const data = params.structuredContent;
  if (!data) return;
  const args = server.toolInput || {};
  const persona = encodeURIComponent(data.persona_id || args.persona_id || data.id || "");
  let target = null;
  if (name === "memory_search" || (data.memories && data.query !== undefined)) {
    target = `#/personas/${persona}/memories?q=${encodeURIComponent(data.query)}`;
  } else if (name === "relationship_list" || data.relationships) {
    target = `#/personas/${persona}/relationships`;
  } else if (name === "emotional_history" || data.states) {
    target = `#/personas/${persona}/mood`;
  } else if (name === "persona_get" || data.traits) {
    target = `#/personas/${encodeURIComponent(data.id)}`;
  }
  if (!target) return;
  preset = target.includes("/memories") || target.endsWith("/relationships") || target.endsWith("/mood") ? data : null;
  if (location.hash === target) show(); // the same view again: no hashchange to wait for
  else location.hash = target;
}

async function boot() {
  const inApp = document.querySelector('meta[name="persona-console"]')?.content === "app";
  if (inApp) {
    server = new HostBridge(window.parent);
    server.handlers["ui/notifications/tool-input"] = (params) => {
      server.toolInput = params.arguments || {};
    };
    server.handlers["ui/notifications/tool-result"] = fromHost;
    window.addEventListener("hashchange", show);
    await server.connect();
    document.body.classList.add("in-host");
    new ResizeObserver(() => {
      server.notify("ui/notifications/size-changed", { width: document.body.scrollWidth, height: document.body.scrollHeight });
    }).observe(document.body);
  } else {
    const login = /^#login=([\w-]+)$/.exec(location.hash);
    if (login) {
      history.replaceState(null, "", location.pathname + "#/personas");
      try {
        await redeem(login[1]);
      } catch (error) {
        return signIn(error.message);
      }
    }
    server = new HttpServer(new URL("../mcp", location.href).pathname, sessionStorage.getItem(TOKEN_KEY));
  }
  if (!inApp) window.addEventListener("hashchange", show);
  await show();
  document.body.dataset.ready = "true";
}

boot();
