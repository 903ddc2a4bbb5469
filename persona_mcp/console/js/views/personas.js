// #/personas: the list, import by drag and drop; #/personas/{id}: the card, the editor, export.
import { carry, download, h, replaceChildren, status } from "../dom.js";

const TRAITS = ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"];
const TEXTS = [
  ["name", "Name", "input"],
  ["description", "Description", "textarea"],
  ["personality", "Personality", "textarea"],
  ["scenario", "Scenario", "textarea"],
  ["first_message", "First message", "textarea"],
  ["speaking_style", "Speaking style", "input"],
];
const EXPORTS = [
  ["card_v2", "Card V2 (JSON)", "json"],
  ["card_v3", "Card V3 (JSON)", "json"],
  ["yaml", "YAML", "yaml"],
  ["png", "PNG card", "png"],
];

function personaLinks(id) {
  return h(
    "nav",
    { class: "links", "aria-label": "Views of this persona" },
    h("a", { href: `#/personas/${encodeURIComponent(id)}` }, "Card"),
    h("a", { href: `#/personas/${encodeURIComponent(id)}/memories` }, "Memories"),
    h("a", { href: `#/personas/${encodeURIComponent(id)}/relationships` }, "Relationships"),
    h("a", { href: `#/personas/${encodeURIComponent(id)}/mood` }, "Mood"),
  );
}

async function importFile(server, file, onDone) {
  const png = file.type === "image/png" || file.name.toLowerCase().endsWith(".png");
  let content;
  if (png) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    content = btoa(binary);
  } else {
    content = await file.text();
  }
  try {
    const result = await server.call("persona_import", { content });
    const warned = result.warnings.length ? ` (${result.warnings.length} warnings)` : "";
    carry(`Imported ${result.persona.name} as ${result.persona.id}${warned}.`);
    onDone(result.persona.id);
  } catch (error) {
    status(`Import failed: ${error.message}`, "error");
  }
}

export async function personasView(server, main) {
  const listed = await server.call("persona_list", {});
  const input = h("input", { type: "file", id: "import-file", accept: ".json,.png,.yaml,.yml,.charx" });
  const drop = h(
    "section",
    { class: "drop", id: "import-drop", "aria-label": "Import a character card" },
    h("p", {}, "Drop a character card here (PNG, JSON or YAML), or "),
    h("label", { for: "import-file" }, "choose a file"),
    input,
  );
  const done = (id) => {
    location.hash = `#/personas/${encodeURIComponent(id)}`;
  };
  input.addEventListener("change", () => input.files[0] && importFile(server, input.files[0], done));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) importFile(server, file, done);
  });
  const cards = listed.personas.map((persona) =>
    h(
      "li",
      { class: "card" },
      h("h3", {}, h("a", { href: `#/personas/${encodeURIComponent(persona.id)}` }, persona.name)),
      h("p", { class: "muted" }, persona.id),
      h("p", {}, persona.description || "No description yet."),
      persona.tags?.length ? h("p", { class: "tags" }, persona.tags.map((tag) => h("span", { class: "tag" }, tag))) : null,
      personaLinks(persona.id),
    ),
  );
  replaceChildren(
    main,
    h("h2", {}, `Personas (${listed.total_count})`),
    h("p", {}, h("a", { href: "#/personas/new", class: "button" }, "New persona")),
    h("ul", { class: "cards", id: "persona-list" }, cards),
    drop,
  );
}

function field(name, label, kind, value) {
  const id = `field-${name.replace(".", "-")}`;
  const control =
    kind === "textarea"
      ? h("textarea", { id, name, rows: 3, "aria-describedby": `${id}-error` }, value ?? "")
      : h("input", { id, name, type: kind === "number" ? "number" : "text", value: value ?? "", "aria-describedby": `${id}-error`, ...(kind === "number" ? { step: "0.05" } : {}) });
  return h(
    "div",
    { class: "field", dataset: { field: name } },
    h("label", { for: id }, label),
    control,
    h("p", { class: "error", id: `${id}-error`, role: "alert" }),
  );
}

function showFieldError(form, message) {
  const path = /`(?:changes\.)?([a-z_.]+)`/.exec(message);
  const key = path ? path[1] : null;
  const holder = key && form.querySelector(`[data-field="${CSS.escape(key)}"]`);
  if (!holder) return false;
  holder.querySelector("input, textarea").setAttribute("aria-invalid", "true");
  holder.querySelector(".error").textContent = message.replace(/^persona_(update|create): /, "");
  holder.querySelector("input, textarea").focus();
  return true;
}

function changesFrom(form, persona) {
  const data = new FormData(form);
  const changes = {};
  for (const [name] of TEXTS) {
    const value = String(data.get(name) ?? "");
    if (!persona || value !== (persona[name] ?? "")) changes[name] = value;
  }
  const interests = String(data.get("interests") ?? "").split(",").map((item) => item.trim()).filter(Boolean);
  if (!persona || interests.join(",") !== persona.interests.join(",")) changes.interests = interests;
  const traits = {};
  for (const trait of TRAITS) {
    const raw = String(data.get(`traits.${trait}`) ?? "");
    const value = Number(raw);
    if (raw !== "" && (!persona || value !== persona.traits[trait])) traits[trait] = Number.isNaN(value) ? raw : value;
  }
  if (Object.keys(traits).length) changes.traits = traits;
  return changes;
}

export async function personaView(server, main, id) {
  const creating = id === "new";
  const persona = creating ? null : await server.call("persona_get", { persona_id: id });
  const form = h(
    "form",
    { id: "persona-editor", novalidate: true, "aria-label": creating ? "New persona" : `Edit ${persona.name}` },
    TEXTS.map(([name, label, kind]) => field(name, label, kind, persona?.[name])),
    field("interests", "Interests (comma separated)", "input", persona?.interests.join(", ")),
    h(
      "fieldset",
      {},
      h("legend", {}, "Big Five traits (0 to 1)"),
      TRAITS.map((trait) => field(`traits.${trait}`, trait, "number", persona?.traits[trait] ?? 0.5)),
    ),
    h("button", { type: "submit" }, creating ? "Create" : "Save changes"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const bad of form.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
    for (const error of form.querySelectorAll(".error")) error.textContent = "";
    const changes = changesFrom(form, persona);
    try {
      const saved = creating
        ? await server.call("persona_create", changes)
        : await server.call("persona_update", { persona_id: id, changes });
      if (creating) {
        carry(`Created ${saved.name}.`);
        location.hash = `#/personas/${encodeURIComponent(saved.id)}`;
      } else {
        status(`Saved ${saved.name} (version ${saved.version}).`, "ok");
      }
    } catch (error) {
      if (!showFieldError(form, error.message)) status(error.message, "error");
    }
  });
  const exports = creating
    ? null
    : h(
        "section",
        { "aria-label": "Export" },
        h("h3", {}, "Export"),
        EXPORTS.map(([format, label, extension]) =>
          h(
            "button",
            {
              type: "button",
              onclick: async () => {
                const result = await server.call("persona_export", { persona_id: id, format });
                const data = result.encoding === "base64" ? Uint8Array.from(atob(result.content), (c) => c.charCodeAt(0)) : result.content;
                download(`${id}.${extension}`, new Blob([data], { type: extension === "png" ? "image/png" : "text/plain" }));
                status(`Exported ${id} as ${label} (${result.size} bytes).`, "ok");
              },
            },
            label,
          ),
        ),
      );
  replaceChildren(
    main,
    h("h2", {}, creating ? "New persona" : persona.name),
    creating ? null : personaLinks(id),
    creating ? null : h("p", { class: "muted" }, `${persona.id} · version ${persona.version} · owner ${persona.owner ?? "shipped"}`),
    form,
    exports,
  );
}
