// #/personas/{id}/relationships (a graph), #/personas/{id}/mood (a chart over time),
// #/conversations and #/conversations/{id} (transcripts with who witnessed each turn).
import { h, replaceChildren, when } from "../dom.js";

const SIZE = 420;

export async function relationshipsView(server, main, id, preset = null) {
  const listed = preset || (await server.call("relationship_list", { persona_id: id }));
  const bonds = listed.relationships;
  const centre = SIZE / 2;
  const radius = SIZE / 2 - 70;
  const nodes = bonds.map((bond, index) => {
    const angle = (2 * Math.PI * index) / Math.max(1, bonds.length) - Math.PI / 2;
    const other = bond.persona_a === id ? bond.persona_b : bond.persona_a;
    return { bond, other, x: centre + radius * Math.cos(angle), y: centre + radius * Math.sin(angle) };
  });
  const graph = h(
    "svg",
    { viewBox: `0 0 ${SIZE} ${SIZE}`, role: "img", "aria-labelledby": "graph-title", class: "graph", id: "relationship-graph" },
    h("title", { id: "graph-title" }, `${id} and the ${bonds.length} it relates to`),
    nodes.map(({ bond, x, y }) =>
      h("line", {
        x1: centre, y1: centre, x2: x, y2: y,
        class: bond.affinity >= 0 ? "edge warm" : "edge cold",
        "stroke-width": 1 + 6 * bond.familiarity,
      }),
    ),
    h("circle", { cx: centre, cy: centre, r: 28, class: "node self" }),
    h("text", { x: centre, y: centre + 46, "text-anchor": "middle", class: "label strong" }, id),
    nodes.map(({ other, bond, x, y }) =>
      h(
        "g",
        {},
        h("circle", { cx: x, cy: y, r: 22, class: "node" }),
        h("text", { x, y: y + 38, "text-anchor": "middle", class: "label" }, other),
        h("text", { x, y: y + 4, "text-anchor": "middle", class: "value" }, bond.affinity.toFixed(1)),
      ),
    ),
  );
  const table = h(
    "table",
    { class: "data" },
    h("caption", {}, "Relationships, strongest first"),
    h("thead", {}, h("tr", {}, ["with", "type", "affinity", "trust", "familiarity", "interactions", "last"].map((name) => h("th", { scope: "col" }, name)))),
    h(
      "tbody",
      {},
      nodes.map(({ other, bond }) =>
        h(
          "tr",
          {},
          h("td", {}, other),
          h("td", {}, bond.type),
          h("td", {}, bond.affinity.toFixed(2)),
          h("td", {}, bond.trust.toFixed(2)),
          h("td", {}, bond.familiarity.toFixed(2)),
          h("td", {}, bond.interaction_count),
          h("td", {}, when(bond.last_interaction_at)),
        ),
      ),
    ),
  );
  replaceChildren(
    main,
    h("h2", {}, `Relationships of ${id}`),
    h("p", {}, h("a", { href: `#/personas/${encodeURIComponent(id)}` }, "← card")),
    bonds.length ? [graph, table] : h("p", { class: "muted" }, "No relationships yet: they grow from conversations."),
  );
}

const SERIES = ["valence", "arousal", "energy", "stress"];

export async function moodView(server, main, id, preset = null) {
  const history = preset || (await server.call("emotional_history", { persona_id: id, limit: 100 }));
  const states = [...history.states].reverse(); // oldest first
  const width = 640;
  const height = 240;
  const pad = 32;
  const times = states.map((state) => new Date(state.created_at).getTime());
  const first = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - first);
  const x = (time) => pad + ((time - first) / span) * (width - 2 * pad);
  const y = (name, value) => {
    const low = name === "valence" ? -1 : 0;
    return height - pad - ((value - low) / (1 - low)) * (height - 2 * pad);
  };
  const chart = h(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "mood-title", class: "chart", id: "mood-chart" },
    h("title", { id: "mood-title" }, `${id}'s mood over its last ${states.length} changes (valence from -1 at the bottom)`),
    h("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }),
    h("line", { x1: pad, y1: pad, x2: pad, y2: height - pad, class: "axis" }),
    h("text", { x: pad - 6, y: pad + 4, "text-anchor": "end", class: "value" }, "1"),
    h("text", { x: pad - 6, y: height - pad + 4, "text-anchor": "end", class: "value" }, "0"),
    h("text", { x: pad, y: height - 8, class: "value" }, states.length ? new Date(first).toLocaleString() : ""),
    h("text", { x: width - pad, y: height - 8, "text-anchor": "end", class: "value" }, states.length ? new Date(first + span).toLocaleString() : ""),
    SERIES.map((name) =>
      h("polyline", {
        class: `series ${name}`,
        fill: "none",
        points: states.map((state, index) => `${x(times[index]).toFixed(1)},${y(name, state[name]).toFixed(1)}`).join(" "),
      }),
    ),
  );
  const legend = h("ul", { class: "legend" }, SERIES.map((name) => h("li", { class: name }, name)));
  const table = h(
    "table",
    { class: "data" },
    h("caption", {}, "Changes, newest first"),
    h("thead", {}, h("tr", {}, ["when", "label", ...SERIES, "why"].map((name) => h("th", { scope: "col" }, name)))),
    h(
      "tbody",
      {},
      history.states.map((state) =>
        h("tr", {}, h("td", {}, when(state.created_at)), h("td", {}, state.label), SERIES.map((name) => h("td", {}, state[name].toFixed(2))), h("td", {}, state.reason || "")),
      ),
    ),
  );
  replaceChildren(
    main,
    h("h2", {}, `Mood of ${id}`),
    h("p", {}, h("a", { href: `#/personas/${encodeURIComponent(id)}` }, "← card")),
    states.length ? [chart, legend, table] : h("p", { class: "muted" }, "No mood changes recorded yet."),
  );
}

export async function conversationsView(server, main) {
  const listed = await server.call("conversation_list", { limit: 50 });
  replaceChildren(
    main,
    h("h2", {}, `Conversations (${listed.total_count})`),
    h(
      "ul",
      { class: "cards" },
      listed.conversations.map((conversation) =>
        h(
          "li",
          { class: "card" },
          h("h3", {}, h("a", { href: `#/conversations/${encodeURIComponent(conversation.id)}` }, conversation.title || conversation.id)),
          h("p", { class: "muted" }, `${conversation.status} · ${conversation.turns} turns · ${conversation.participants.join(", ")} · ${when(conversation.updated_at)}`),
        ),
      ),
    ),
  );
}

export async function conversationView(server, main, id) {
  const [state, history] = await Promise.all([
    server.call("conversation_status", { conversation_id: id }),
    server.call("conversation_history", { conversation_id: id, limit: 200 }),
  ]);
  const conversation = state.conversation || state;
  replaceChildren(
    main,
    h("h2", {}, conversation.title || `Conversation ${id}`),
    h("p", { class: "muted" }, `${conversation.status} · with ${conversation.participants.join(", ")} · user ${conversation.user_id || "—"}`),
    h(
      "ol",
      { class: "transcript", id: "transcript" },
      history.messages.map((message) =>
        h(
          "li",
          { class: `turn ${message.role}` },
          h("p", { class: "speaker" }, message.role === "assistant" ? message.persona_id || "assistant" : message.role === "user" ? conversation.user_id || "user" : message.role),
          h("p", { class: "content" }, message.content),
          h("p", { class: "muted" }, `${when(message.created_at)} · witnessed by ${message.witnesses.length ? message.witnesses.join(", ") : "nobody"}`),
        ),
      ),
    ),
  );
}

export async function maintenanceView(server, main) {
  const [decay, prune] = await Promise.all([server.call("memory_decay_stats", {}), server.call("memory_prune_stats", {})]);
  const result = h("section", { id: "prune-result", "aria-live": "polite" });
  const dryRun = h("button", { type: "button", id: "dry-run" }, "Dry-run a prune of every persona");
  dryRun.addEventListener("click", async () => {
    const report = await server.call("memory_prune_all", { dry_run: true });
    const personas = report.personas || [];
    replaceChildren(
      result,
      h("h3", {}, "Would archive (nothing was changed)"),
      h(
        "table",
        { class: "data" },
        h("thead", {}, h("tr", {}, ["persona", "would archive", "would keep"].map((name) => h("th", { scope: "col" }, name)))),
        h("tbody", {}, personas.map((one) => h("tr", {}, h("td", {}, one.persona_id), h("td", {}, (one.pruned || []).length), h("td", {}, one.kept ?? "")))),
      ),
    );
  });
  const facts = (object) =>
    h("dl", { class: "facts" }, Object.entries(object).filter(([, value]) => typeof value !== "object" || value === null).map(([key, value]) => [h("dt", {}, key.replaceAll("_", " ")), h("dd", {}, value === null ? "—" : String(value))]));
  replaceChildren(main, h("h2", {}, "Maintenance"), h("h3", {}, "Decay"), facts(decay), h("h3", {}, "Pruning"), facts(prune), dryRun, result);
}
