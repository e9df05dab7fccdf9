// Feedbase's browser client: REST in the server's grammar, and live lists that never lose an
// event (snapshot, then the list's band from the snapshot's seq, resumed from the last seq
// received after any disconnect). No dependencies, no build step: the server serves this file
// as it is at /_client/feedbase.js. docs/CLIENT.md is its manual.

/** A problem+json answer (or a network failure, status 0) as an Error. */
export class FeedbaseError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.name = "FeedbaseError";
    this.status = problem.status;
    this.problem = problem;
  }
}

const enc = encodeURIComponent;
const OPEN = 1;   // WebSocket.OPEN, where WebSocket may not exist
/** "/tasks?done=is.false" → ["/tasks", URLSearchParams]; relative to the server's URL, which may have a path. */
const split = (url) => {
  const at = url.indexOf("?");
  return at < 0 ? [url, new URLSearchParams()] : [url.slice(0, at), new URLSearchParams(url.slice(at + 1))];
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Reconnect delays: 250 ms doubling to 10 s, each with jitter (so that a restarted server is
 *  not met by every page at once). */
const backoff = (attempt) => Math.min(10_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);

export class Feedbase {
  /**
   * @param {string} [url] the server, e.g. "http://localhost:8080"; default: where this module came from
   * @param {{token?: string | (() => string | Promise<string>), transport?: "auto" | "websocket" | "sse"}} [options]
   */
  constructor(url, options = {}) {
    this.url = (url ?? new URL(import.meta.url).origin).replace(/\/+$/, "");
    this.#token = options.token;
    this.transport = options.transport ?? "auto";
    this.#feed = null;
  }

  #token;
  #feed;
  #keys;

  /** The credential in force (an API key or a JWT), asking the token function when there is one. */
  async token() {
    return typeof this.#token === "function" ? await this.#token() : this.#token;
  }

  /** Replaces the credential in place: REST uses it at once, and open live lists go on under it
   *  (a band the new identity reads otherwise is read again). Resolves when the server took it. */
  async setToken(token) {
    const previous = this.#token;
    this.#token = token;
    try {
      if (this.#feed) await this.#feed.authenticate();
    } catch (error) {
      // Refused (401): the socket kept the credential it had, and so does REST.
      if (error.status === 401 && this.#token === token) this.#token = previous;
      throw error;
    }
  }

  /** Any request: `path` is a URL path and query ("/tasks?done=is.false"). Resolves to
   *  {status, headers, body}, the body parsed as JSON; throws a FeedbaseError for an error status. */
  async request(method, path, body, headers = {}) {
    const token = await this.token();
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (token) init.headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] ??= "application/json";
    }
    let response;
    try {
      response = await fetch(this.url + (path.startsWith("/") ? path : "/" + path), init);
    } catch (error) {
      throw new FeedbaseError({ status: 0, title: "Network error", detail: String(error) });
    }
    const text = await response.text();
    let parsed = null;
    if (text) {
      try { parsed = JSON.parse(text); } catch { parsed = text; }
    }
    if (!response.ok && response.status !== 304) {
      throw new FeedbaseError(typeof parsed === "object" && parsed ? parsed : { status: response.status, title: response.statusText, detail: text });
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  /** A page of a listing: list("/tasks?done=is.false&order=priority.desc&limit=20"). */
  async list(url) { return (await this.request("GET", url)).body; }
  /** Every item of a listing, following its next links. */
  async listAll(url) { return (await this.#snapshot(url)).items; }
  async get(collection, id) { return (await this.request("GET", `/${enc(collection)}/${enc(id)}`)).body; }
  /** An object creates one item, an array many (all or nothing). */
  async create(collection, body) { return (await this.request("POST", `/${enc(collection)}`, body)).body; }
  /** JSON Merge Patch; `ifMatch` an ETag for an update that fails (412) when the item changed. */
  async update(collection, id, patch, { ifMatch } = {}) {
    return (await this.request("PATCH", `/${enc(collection)}/${enc(id)}`, patch, {
      "Content-Type": "application/merge-patch+json", ...(ifMatch ? { "If-Match": ifMatch } : {}) })).body;
  }
  async replace(collection, id, body) { return (await this.request("PUT", `/${enc(collection)}/${enc(id)}`, body)).body; }
  async delete(collection, id) { await this.request("DELETE", `/${enc(collection)}/${enc(id)}`); }
  /** Operations on any collections in one transaction: [{op, collection, id?, body?}]. */
  async batch(operations) { return (await this.request("POST", "/_batch", operations)).body; }

  /** A listing as a live, always-correct array (see LiveList). */
  live(url) {
    this.#feed ??= new Feed(this);
    const list = new LiveList(this, url, this.#feed);
    list.start();
    return list;
  }

  /** Ends every live list and the socket. */
  close() {
    this.#feed?.close();
    this.#feed = null;
  }

  /** Each collection's primary key column, from the index document (read once). */
  async keyOf(collection) {
    this.#keys ??= this.request("GET", "/").then(({ body }) => new Map(body.collections.map((c) => [c.name, c.key])));
    const key = (await this.#keys).get(collection);
    if (!key) throw new FeedbaseError({ status: 404, title: "Not Found", detail: `no collection named '${collection}'` });
    return key;
  }

  /** Every page of a listing (1000 items a page, keyset order), and the seq of its first page. */
  async #snapshot(url) {
    const [path, params] = split(url);
    for (const name of ["limit", "offset", "after", "since"]) params.delete(name);
    params.set("limit", "1000");
    let next = path + "?" + params, items = [], seq = null;
    while (next) {
      const { headers, body } = await this.request("GET", next);
      seq ??= Number(headers.get("X-Change-Seq") ?? 0);
      items = items.concat(body);
      next = /<([^>]+)>;\s*rel="next"/.exec(headers.get("Link") ?? "")?.[1] ?? null;
    }
    return { items, seq };
  }
  snapshot(url) { return this.#snapshot(url); }
}

/** A listing kept equal to what the server would list now: `items`, in the listing's order. */
export class LiveList {
  constructor(db, url, feed) {
    this.db = db;
    this.feed = feed;
    const [path, params] = split(url);
    this.collection = decodeURIComponent(path.replace(/^\/+/, ""));
    this.params = params;
    this.order = (this.params.get("order") ?? "").split(",").filter(Boolean).map((term) => {
      const [column, direction = "asc"] = term.split(".");
      return { column, descending: direction === "desc" };
    });
    /** @type {object[]} */
    this.items = [];
    /** The last seq this list is known to be complete at; it resumes from there. */
    this.seq = null;
    this.error = null;
    this.onchange = null;
    this.onerror = null;
    this.closed = false;
    /** Failed attempts of its own EventSource in a row (SSE only): its backoff. */
    this.attempt = 0;
    this.#byId = new Map();
    this.ready = new Promise((resolve, reject) => { this.#settle = { resolve, reject }; });
    this.ready.catch(() => {});
  }

  #byId;
  #settle;

  async start() {
    try {
      this.key = await this.db.keyOf(this.collection);
      const select = this.params.get("select");
      // Items carry their key, so that a change finds the one it replaces.
      if (select && select !== "*" && !select.split(",").includes(this.key)) this.params.set("select", this.key + "," + select);
      await this.#loadRetrying();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The band's URL: the filter and select (order and pages do not apply to a band). */
  get url() {
    const params = new URLSearchParams(this.params);
    for (const name of ["order", "limit", "offset", "after", "since"]) params.delete(name);
    const query = params.toString();
    return "/" + enc(this.collection) + (query ? "?" + query : "");
  }

  /** #load, again with backoff while the server cannot be reached or is unavailable (a restart). */
  async #loadRetrying() {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#load();
      } catch (error) {
        const status = error?.status ?? 0;
        if (this.closed || (status !== 0 && status !== 408 && status !== 429 && status < 500)) throw error;
        await sleep(backoff(attempt));
      }
    }
  }

  /** Reads the listing whole, then follows its band from the snapshot's seq. */
  async #load() {
    const { items, seq } = await this.db.snapshot("/" + enc(this.collection) + "?" + this.params);
    if (this.closed) return;
    this.#byId = new Map(items.map((item) => [String(item[this.key]), item]));
    this.seq = seq;
    this.#changed();
    this.feed.follow(this);
  }

  /** A band message: put the item on create, enter, update; drop its id on delete, leave. */
  apply(message) {
    if (message.op === "create" || message.op === "enter" || message.op === "update") this.#byId.set(message.id, message.item);
    else this.#byId.delete(message.id);
    this.seq = message.seq;
  }

  /** The band's backlog is in: the items are the listing's at `seq`. */
  caughtUp(seq) {
    this.seq = Math.max(this.seq ?? 0, seq);
    this.#changed();
    this.#settle.resolve(this.items);
  }

  /** The band can no longer be followed from its seq (pruned, or the credential changed). */
  async reload() {
    this.feed.unfollow(this);
    try { await this.#loadRetrying(); } catch (error) { this.#fail(error); }
  }

  changed() { this.#changed(); }

  #changed() {
    this.items = [...this.#byId.values()].sort((a, b) => this.#compare(a, b));
    this.onchange?.(this.items, this);
  }

  #fail(error) {
    this.error = error instanceof FeedbaseError ? error : new FeedbaseError({ status: 0, title: "Error", detail: String(error) });
    this.feed.unfollow(this);
    this.#settle.reject(this.error);
    this.onerror?.(this.error, this);
  }

  fail(problem) { this.#fail(new FeedbaseError(problem)); }

  /** The listing's order: its sort keys, then the key in the last one's direction; NULLs
   *  first ascending and last descending, as the server orders. */
  #compare(a, b) {
    const terms = [...this.order, { column: this.key, descending: this.order.at(-1)?.descending ?? false }];
    for (const { column, descending } of terms) {
      const x = a[column] ?? null, y = b[column] ?? null;
      let c = 0;
      if (x === null || y === null) c = x === y ? 0 : x === null ? -1 : 1;
      else if (typeof x === "string" && typeof y === "string") c = compareUTF8(x, y);
      else c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return descending ? -c : c;
    }
    return 0;
  }

  close() {
    this.closed = true;
    this.feed.unfollow(this);
  }
}

/** Text in the server's order (bytes of UTF-8, which is code point order). */
function compareUTF8(x, y) {
  const a = [...x], b = [...y];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a[i].codePointAt(0) - b[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The page's one connection for every live list: a WebSocket on /_feed?mode=bands (many bands
 *  on it), or one EventSource per list where WebSockets are not to be had. */
class Feed {
  constructor(db) {
    this.db = db;
    this.lists = new Map();   // subscription id → list
    this.bands = new Map();   // band name → list
    this.next = 0;
    this.attempt = 0;
    this.opened = false;
    this.closed = false;
    this.socket = null;
    this.failures = 0;
    this.auth = [];           // the auth messages waiting for their answers, in order
    this.outbox = [];         // client messages not sent yet, and how many sent wait for their answer:
    this.waiting = 0;         // at most 8 (the server holds 16 per socket and refuses more)
    this.reauth = null;       // a token given while the socket was connecting with another
    this.useSSE = db.transport === "sse" || (db.transport === "auto" && typeof WebSocket === "undefined");
  }

  follow(list) {
    // A socket follows a band once: a second list of the same URL goes on a socket of its own.
    if ([...this.lists.values()].some((other) => other !== list && other.url === list.url)) {
      this.sibling ??= new Feed(this.db);
      list.feed = this.sibling;
      return this.sibling.follow(list);
    }
    // A fresh id per subscription: answers to an earlier one can never be taken for it.
    list.id = "l" + ++this.next;
    this.lists.set(list.id, list);
    if (this.useSSE) return this.#openSource(list);
    if (this.socket?.readyState === OPEN) this.#subscribe(list);
    else this.#connect();
  }

  unfollow(list) {
    if (this.#forget(list) && this.socket?.readyState === OPEN) this.#send({ type: "unsubscribe", id: list.id });
  }

  /** The list's subscription is over (the server ended it, or it is left). */
  #forget(list) {
    if (!this.lists.delete(list.id)) return false;
    for (const [band, owner] of this.bands) if (owner === list) this.bands.delete(band);
    list.source?.close();
    list.source = null;
    return true;
  }

  async authenticate() {
    if (this.sibling) await this.sibling.authenticate();
    if (this.useSSE) {
      // An EventSource cannot change its URL: each reopens with the new token from its seq.
      for (const list of this.lists.values()) this.#openSource(list);
      return;
    }
    const token = await this.db.token();
    // Not open: the next connect uses it, or the one under way sends it once open.
    if (this.socket?.readyState !== OPEN) return void (this.reauth = token);
    await new Promise((resolve, reject) => {
      this.auth.push({ resolve, reject });
      this.#send({ type: "auth", token });
    });
  }

  close() {
    this.closed = true;
    this.sibling?.close();
    for (const list of this.lists.values()) list.source?.close();
    this.lists.clear();
    this.socket?.close(1000);
  }

  #send(message) {
    this.outbox.push(message);
    this.#pump();
  }

  #pump() {
    while (this.waiting < 8 && this.outbox.length > 0 && this.socket?.readyState === OPEN) {
      this.waiting++;
      this.socket.send(JSON.stringify(this.outbox.shift()));
    }
  }

  #subscribe(list) {
    this.#send({ type: "subscribe", id: list.id, url: list.url, since: list.seq });
  }

  async #connect() {
    if (this.closed || this.socket || this.connecting) return;
    this.connecting = true;
    const token = await this.db.token();
    this.connecting = false;
    const url = this.db.url.replace(/^http/, "ws") + "/_feed?mode=bands" + (token ? "&access_token=" + enc(token) : "");
    const socket = new WebSocket(url);
    this.socket = socket;
    if (this.reauth === token) this.reauth = null;
    socket.onopen = () => {
      this.opened = true;
      this.attempt = 0;
      this.bands.clear();
      this.outbox = [];
      this.waiting = 0;
      if (this.reauth) {
        // Before any subscribe: the server handles a socket's messages in order.
        this.auth.push({ resolve() {}, reject() {} });
        this.#send({ type: "auth", token: this.reauth });
        this.reauth = null;
      }
      for (const list of this.lists.values()) this.#subscribe(list);
    };
    socket.onmessage = (event) => this.#receive(JSON.parse(event.data));
    socket.onclose = async () => {
      this.socket = null;
      // The next connect carries the newest token.
      for (const waiting of this.auth.splice(0)) waiting.resolve();
      if (this.closed) return;
      // A WebSocket that never opened while plain HTTP is answered: something between (a proxy)
      // refuses upgrades, and EventSource will do. Not when HTTP is refused too (429 past the
      // rate limit, 503, no network): that is the server's answer to anything, and the socket
      // is tried again after the backoff.
      if (!this.opened && this.db.transport === "auto" && typeof EventSource !== "undefined" && (await this.#httpAnswers()) && !this.closed
        && ++this.failures >= 2) {
        this.useSSE = true;
        for (const list of this.lists.values()) this.#openSource(list);
        return;
      }
      this.#retry(() => this.#connect());
    };
  }

  /** Whether the server answers a plain request (its health) with 200 now. */
  async #httpAnswers() {
    try { return (await fetch(this.db.url + "/_health")).ok; } catch { return false; }
  }

  /** A list on its own EventSource: after its own backoff's next delay; a stream that opens
   *  starts it over. */
  async #retryList(list, again) {
    await sleep(backoff(list.attempt++));
    if (!this.closed && !list.closed) again();
  }

  /** After the backoff's next delay; a connection that opens starts it over. */
  async #retry(again) {
    await sleep(backoff(this.attempt++));
    if (!this.closed) again();
  }

  #receive(message) {
    if (["subscribed", "unsubscribed", "authenticated", "error"].includes(message.type)) {
      this.waiting--;
      this.#pump();
    }
    const list = message.band !== undefined && message.op ? this.bands.get(message.band) : this.lists.get(message.id);
    switch (message.op ? "change" : message.type) {
      case "change": if (list) { list.apply(message); if (list.live) list.changed(); } break;
      case "subscribed": if (list) this.bands.set(message.band, list); break;
      case "ready": if (list) { list.live = true; list.caughtUp(message.seq); } break;
      case "progress": if (list) list.seq = Math.max(list.seq ?? 0, message.seq); break;
      case "reset": case "ended": if (list) { this.#forget(list); list.live = false; list.reload(); } break;
      case "authenticated": this.auth.shift()?.resolve(); break;
      case "error":
        if (message.id === null) this.auth.shift()?.reject(new FeedbaseError(message.problem));
        else if (list && (message.problem?.status === 429 || message.problem?.status >= 500)) {
          // Refused for now (the rate limit, a server busy or at its band limit): follow the band
          // again after the backoff, from the list's seq, as after a reconnect.
          this.#forget(list);
          this.#retry(() => { if (!list.closed && !this.lists.has(list.id)) this.follow(list); });
        } else if (list) { this.#forget(list); list.fail(message.problem); }
        break;
    }
  }

  /** A list on its own EventSource: the listing's URL asked as text/event-stream from its seq. */
  async #openSource(list) {
    list.source?.close();
    const token = await this.db.token();
    if (!this.lists.has(list.id)) return;
    const url = new URL(this.db.url + list.url);
    url.searchParams.set("since", String(list.seq));
    if (token) url.searchParams.set("access_token", token);
    const source = new EventSource(url);
    list.source = source;
    const data = (event) => JSON.parse(event.data);
    source.addEventListener("change", (event) => { list.apply(data(event)); if (list.live) list.changed(); });
    source.addEventListener("ready", (event) => { list.live = true; list.caughtUp(data(event).seq); });
    source.addEventListener("progress", (event) => { list.seq = Math.max(list.seq, data(event).seq); });
    source.addEventListener("reset", () => { this.#forget(list); list.live = false; list.reload(); });
    const reopen = () => { source.close(); if (list.source === source) this.#retryList(list, () => this.#openSource(list)); };
    for (const end of ["unauthorized", "overflow", "failure"]) source.addEventListener(end, reopen);
    source.onopen = () => { list.attempt = 0; };
    // The browser retries by itself with Last-Event-ID; a closed source (an answer other than
    // 200: 410, 401, 429, 503, which EventSource does not tell apart) is ours to redo, after the
    // backoff, from a fresh listing.
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED || list.source !== source) return;
      this.#forget(list);
      this.#retryList(list, () => list.reload());
    };
  }
}
