// Building the page: every piece of data goes in as text (textContent, attribute values), never as
// markup, so nothing a persona or a memory says can run or restyle the page.

export function h(tag, attributes, ...children) {
  const svg = ["svg", "g", "line", "circle", "text", "polyline", "rect", "path", "title"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function replaceChildren(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined));
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function percent(value) {
  return `${Math.round(Math.max(0, Math.min(1, Number(value) || 0)) * 100)}%`;
}

let carried = false;

// A message that outlives the route change that follows it ("Imported X", then its card).
export function carry(message, kind = "ok") {
  status(message, kind);
  carried = true;
}

export function clearStatus() {
  if (!carried) status("");
  carried = false;
}

export function status(message, kind = "info") {
  const region = document.getElementById("status");
  if (region) replaceChildren(region, message ? h("p", { class: `status ${kind}` }, message) : null);
}

export function download(name, data, type) {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const link = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
