// Two ways to reach the server, one interface: call(tool, args) -> structured result, read(uri).
// The web page speaks MCP's streamable HTTP to /mcp with the user's token; the MCP App asks its
// host over the MCP Apps postMessage bridge, and the host forwards to the server.

const PROTOCOL = "2025-11-25";
const APPS_PROTOCOL = "2026-01-26";

export class ToolFailure extends Error {
  constructor(tool, message) {
    super(message);
    this.tool = tool;
  }
}

function unknownTool(result) {
  return Boolean(result.isError) && (result.content || []).map((block) => block.text || "").join(" ").startsWith("Unknown tool");
}

function notOffered(tool) {
  return new ToolFailure(tool, `This server does not offer ${tool}: start it with PERSONA_MCP_TOOLSETS=all.`);
}

function resultOf(tool, result) {
  if (result.isError) {
    const text = (result.content || []).map((block) => block.text || "").join(" ").trim();
    throw new ToolFailure(tool, text || `${tool} failed`);
  }
  return result.structuredContent ?? {};
}

export class HttpServer {
  constructor(endpoint, token) {
    this.endpoint = endpoint;
    this.token = token;
    this.session = null;
    this.nextId = 1;
    this.dotted = false;
  }

  async post(message) {
    const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (this.session) headers["Mcp-Session-Id"] = this.session;
    if (this.session) headers["Mcp-Protocol-Version"] = PROTOCOL;
    const response = await fetch(this.endpoint, { method: "POST", headers, body: JSON.stringify(message) });
    if (response.status === 401) throw new ToolFailure("login", "This server needs a token: sign in again.");
    if (response.status === 404 && this.session) {
      this.session = null; // the server forgot the session (idle, restarted): start a new one
      this.connecting = null;
      return this.request(message.method, message.params);
    }
    if (!response.ok && response.status !== 202) {
      throw new ToolFailure("http", `The server answered ${response.status} ${response.statusText}`);
    }
    this.session = response.headers.get("Mcp-Session-Id") || this.session;
    if (message.id === undefined) return null;
    const text = await response.text();
    const replies = (response.headers.get("Content-Type") || "").includes("text/event-stream")
      ? text.split("\n").filter((line) => line.startsWith("data:")).map((line) => JSON.parse(line.slice(5)))
      : [JSON.parse(text)];
    const reply = replies.find((item) => item.id === message.id);
    if (!reply) throw new ToolFailure("http", "The server sent no answer.");
    if (reply.error) throw new ToolFailure(message.method, reply.error.message);
    return reply.result;
  }

  async request(method, params) {
    if (!this.session) {
      this.connecting = this.connecting || this.connect(); // one session, however many calls start at once
      await this.connecting;
    }
    return this.post({ jsonrpc: "2.0", id: this.nextId++, method, params });
  }

  async connect() {
    await this.post({
      jsonrpc: "2.0",
      id: this.nextId++,
      method: "initialize",
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "persona-console", version: "1" } },
    });
    await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
  }

  async call(tool, args = {}) {
    // Tools are persona_get or persona.get, as the server spells them: learnt from the first
    // "Unknown tool" (cheaper than listing every tool's schema on each page load).
    const name = this.dotted ? tool.replace("_", ".") : tool;
    const result = await this.request("tools/call", { name, arguments: args });
    if (unknownTool(result)) {
      this.dotted = !this.dotted;
      if (this.dotted) return this.call(tool, args); // try persona.get
      throw notOffered(tool);
    }
    return resultOf(tool, result);
  }

  async read(uri) {
    const result = await this.request("resources/read", { uri });
    return result.contents[0].text;
  }
}

export class HostBridge {
  constructor(target) {
    this.target = target;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = {};
    this.context = {};
    window.addEventListener("message", (event) => this.receive(event));
  }

  receive(event) {
    if (event.source !== this.target) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.id !== undefined && this.pending.has(message.id) && !message.method) {
      const { resolve, reject } = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) reject(new ToolFailure("host", message.error.message));
      else resolve(message.result);
      return;
    }
    if (message.method === "ui/resource-teardown") {
      this.target.postMessage({ jsonrpc: "2.0", id: message.id, result: {} }, "*");
      return;
    }
    const handler = this.handlers[message.method];
    if (handler) handler(message.params || {});
    if (message.id !== undefined && message.method) {
      this.target.postMessage({ jsonrpc: "2.0", id: message.id, result: {} }, "*");
    }
  }

  request(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.target.postMessage({ jsonrpc: "2.0", id, method, params }, "*");
    });
  }

  notify(method, params) {
    this.target.postMessage({ jsonrpc: "2.0", method, params }, "*");
  }

  async connect() {
    const result = await this.request("ui/initialize", {
      protocolVersion: APPS_PROTOCOL,
      appInfo: { name: "persona-console", version: "1" },
      appCapabilities: {},
    });
    this.context = result.hostContext || {};
    this.notify("ui/notifications/initialized", {});
    return result;
  }

  async call(tool, args = {}) {
    // The host names tools as the server registered them: persona_get, or persona.get.
    const dotted = (this.context.toolInfo?.tool?.name || "").includes(".");
    const name = dotted ? tool.replace("_", ".") : tool;
    const result = await this.request("tools/call", { name, arguments: args });
    if (unknownTool(result)) throw notOffered(tool);
    return resultOf(tool, result);
  }

  async read(uri) {
    const result = await this.request("resources/read", { uri });
    return result.contents[0].text;
  }
}
