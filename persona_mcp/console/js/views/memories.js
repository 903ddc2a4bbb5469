// #/personas/{id}/memories?q=...: search with each result's score components as small bars,
// filters, pin, edit, archive and restore, and deletion for good behind a confirmation.
import { h, percent, replaceChildren, status, when } from "../dom.js";

const KINDS = ["episodic", "semantic", "emotional", "procedural", "reflective"];
const VISIBILITIES = ["private", "shared", "public"];
const COMPONENTS = ["semantic", "lexical", "importance", "recency", "context", "when", "mood"];

function bars(components) {
  if (!components) return null;
  return h(
    "dl",
    { class: "bars", "aria-label": "Score components" },
    COMPONENTS.filter((name) => name in components).map((name) => {
      const fill = h("span", { class: `fill ${name}` });
      fill.style.width = percent(components[name]);
      return h(
        "div",
        { class: "bar" },
        h("dt", {}, name),
        h("dd", { title: `${name}: ${Number(components[name]).toFixed(2)}` }, h("span", { class: "track" }, fill), Number(components[name]).toFixed(2)),
      );
    }),
  );
}

function confirmDelete(memory) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { id: "confirm-delete", "aria-labelledby": "confirm-title" },
      h("h3", { id: "confirm-title" }, "Delete this memory for good?"),
      h("p", {}, memory.content),
      h("p", {}, "It cannot be restored afterwards. Archiving keeps it restorable."),
      h(
        "form",
        { method: "dialog" },
        h("button", { value: "cancel", autofocus: true }, "Keep it"),
        h("button", { value: "delete", class: "danger" }, "Delete for good"),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "delete");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

function row(server, memory, components, refresh) {
  const archived = Boolean(memory.archived_at);
  const act = (label, work, extra = {}) =>
    h(
      "button",
      {
        type: "button",
        ...extra,
        onclick: async () => {
          try {
            await work();
            await refresh();
          } catch (error) {
            status(error.message, "error");
          }
        },
      },
      label,
    );
  const text = h("p", { class: "content" }, memory.content);
  const edit = h("button", { type: "button" }, "Edit");
  edit.addEventListener("click", () => {
    const area = h("textarea", { "aria-label": "Memory text", rows: 3 }, memory.content);
    const save = act("Save", async () => {
      await server.call("memory_update", { memory_id: memory.id, content: area.value });
      status("Memory saved.", "ok");
    });
    text.replaceWith(h("div", { class: "editing" }, area, save));
    area.focus();
  });
  return h(
    "li",
    { class: `memory${archived ? " archived" : ""}`, dataset: { id: memory.id } },
    text,
    h(
      "p",
      { class: "muted" },
      `${memory.kind} · ${memory.visibility} · importance ${Number(memory.importance).toFixed(2)} · ${when(memory.created_at)}`,
      memory.pinned ? h("span", { class: "tag" }, "pinned") : null,
      archived ? h("span", { class: "tag" }, "archived") : null,
      memory.valid_to ? h("span", { class: "tag" }, `no longer true since ${when(memory.valid_to)}`) : null,
    ),
    bars(components),
    h(
      "div",
      { class: "actions" },
      archived
        ? act("Restore", () => server.call("memory_restore", { memory_id: memory.id }))
        : [
            act(memory.pinned ? "Unpin" : "Pin", () => server.call("memory_update", { memory_id: memory.id, pinned: !memory.pinned }), {
              "aria-pressed": memory.pinned ? "true" : "false",
            }),
            edit,
            act("Archive", () => server.call("memory_delete", { memory_id: memory.id })),
          ],
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: async () => {
            if (!(await confirmDelete(memory))) return;
            try {
              await server.call("memory_delete", { memory_id: memory.id, hard: true });
              status("Memory deleted for good.", "ok");
              await refresh();
            } catch (error) {
              status(error.message, "error");
            }
          },
        },
        "Delete…",
      ),
    ),
  );
}

export async function memoriesView(server, main, id, params, preset = null) {
  const query = params.get("q") || "";
  const kind = params.get("kind") || "";
  const visibility = params.get("visibility") || "";
  const since = params.get("since") || "";
  const until = params.get("until") || "";
  const results = h("ol", { class: "memories", id: "memory-results", "aria-live": "polite" });
  // Archived memories leave search; those this page archived stay listed until it reloads.
  const shown = new Map();
  const render = async () => {
    let hits;
    if (preset) {
      hits = preset.memories;
      preset = null;
    } else if (query) {
      const args = { query, persona_id: id, n_results: 30 };
      if (kind) args.kinds = [kind];
      if (since) args.since = new Date(since).toISOString();
      if (until) args.until = new Date(`${until}T23:59:59`).toISOString();
      hits = (await server.call("memory_search", args)).memories;
    } else {
      const recent = JSON.parse(await server.read(`persona://${id}/memories`));
      hits = recent.filter((memory) => !kind || memory.kind === kind).map((memory) => ({ memory, components: null }));
    }
    for (const hit of hits) shown.set(hit.memory.id, hit);
    const fresh = [];
    for (const [memoryId, hit] of shown) {
      try {
        fresh.push({ ...hit, memory: await server.call("memory_get", { memory_id: memoryId }) });
      } catch {
        shown.delete(memoryId); // deleted for good
      }
    }
    const visible = fresh.filter((hit) => !visibility || hit.memory.visibility === visibility);
    replaceChildren(
      results,
      visible.length
        ? visible.map((hit) => row(server, hit.memory, hit.components, render))
        : h("li", { class: "muted" }, query ? "No memory matches." : "No memories yet."),
    );
  };
  const select = (name, label, options, value) =>
    h(
      "label",
      {},
      label,
      h("select", { name }, h("option", { value: "" }, "any"), options.map((option) => h("option", { value: option, selected: option === value }, option))),
    );
  const form = h(
    "form",
    { class: "filters", role: "search" },
    h("label", {}, "Search", h("input", { type: "search", name: "q", value: query, placeholder: "what do you remember about…" })),
    select("kind", "Kind", KINDS, kind),
    select("visibility", "Visibility", VISIBILITIES, visibility),
    h("label", {}, "Since", h("input", { type: "date", name: "since", value: since })),
    h("label", {}, "Until", h("input", { type: "date", name: "until", value: until })),
    h("button", { type: "submit" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) next.set(name, String(value));
    location.hash = `#/personas/${encodeURIComponent(id)}/memories${next.size ? `?${next}` : ""}`;
  });
  const store = h(
    "form",
    { class: "store", "aria-label": "Store a memory" },
    h("label", {}, "New memory", h("textarea", { name: "content", rows: 2, required: true })),
    select("kind", "Kind", KINDS, "episodic"),
    h("button", { type: "submit" }, "Store"),
  );
  store.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(store);
    try {
      const stored = await server.call("memory_store", {
        content: String(data.get("content")),
        persona_id: id,
        kind: String(data.get("kind") || "episodic"),
      });
      status(stored.duplicate_of ? "Already known: the memory was reinforced." : "Memory stored.", "ok");
      store.reset();
      shown.set(stored.memory.id, { memory: stored.memory, components: null });
      await render();
    } catch (error) {
      status(error.message, "error");
    }
  });
  replaceChildren(main, h("h2", {}, `Memories of ${id}`), h("p", {}, h("a", { href: `#/personas/${encodeURIComponent(id)}` }, "← card")), form, store, results);
  await render();
}
