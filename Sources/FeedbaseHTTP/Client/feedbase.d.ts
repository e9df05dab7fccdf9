// Types of /_client/feedbase.js, Feedbase's browser client (docs/CLIENT.md).

/** An RFC 9457 problem, as the server answers errors. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  errors?: { pointer?: string; parameter?: string; detail: string }[];
}

/** A problem+json answer (status 0: the server could not be reached) as an Error. */
export class FeedbaseError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem);
}

export type Item = Record<string, unknown>;
/** An API key (fbk_...) or a JWT; a function is asked at every connect and request. */
export type Token = string | (() => string | Promise<string>);

export interface FeedbaseOptions {
  token?: Token;
  /** "auto" (default): a WebSocket, EventSource when WebSockets cannot connect. */
  transport?: "auto" | "websocket" | "sse";
}

export interface BatchOperation {
  op: "create" | "replace" | "update" | "delete";
  collection: string;
  id?: string | number;
  body?: unknown;
}

export class Feedbase {
  /** `url`: the server, e.g. "http://localhost:8080"; default: the origin this module came from. */
  constructor(url?: string, options?: FeedbaseOptions);
  readonly url: string;
  /** Replaces the credential in place; live lists go on (resolves when the server took it). */
  setToken(token: Token | undefined): Promise<void>;
  token(): Promise<string | undefined>;
  request<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>):
    Promise<{ status: number; headers: Headers; body: T }>;
  /** One page of a listing, e.g. "/tasks?done=is.false&order=priority.desc&limit=20". */
  list<T = Item>(url: string): Promise<T[]>;
  /** Every item of a listing, following its next links. */
  listAll<T = Item>(url: string): Promise<T[]>;
  get<T = Item>(collection: string, id: string | number): Promise<T>;
  create<T = Item>(collection: string, body: Partial<T>): Promise<T>;
  create<T = Item>(collection: string, body: Partial<T>[]): Promise<T[]>;
  update<T = Item>(collection: string, id: string | number, patch: Partial<T>, options?: { ifMatch?: string }): Promise<T>;
  replace<T = Item>(collection: string, id: string | number, body: Partial<T>): Promise<T>;
  delete(collection: string, id: string | number): Promise<void>;
  batch(operations: BatchOperation[]): Promise<{ status: number; body?: unknown }[]>;
  /** A listing as a live array: every item the listing has, kept current. */
  live<T = Item>(url: string): LiveList<T>;
  /** Ends every live list and the connection. */
  close(): void;
}

export class LiveList<T = Item> {
  /** The listing's items in its order, replaced by a new array at each change. */
  readonly items: T[];
  /** The seq the items are complete at; the list resumes from it. */
  readonly seq: number | null;
  readonly error: FeedbaseError | null;
  /** Resolves with the items once the list is live; rejects when it cannot be followed. */
  readonly ready: Promise<T[]>;
  onchange: ((items: T[], list: LiveList<T>) => void) | null;
  onerror: ((error: FeedbaseError, list: LiveList<T>) => void) | null;
  close(): void;
}
