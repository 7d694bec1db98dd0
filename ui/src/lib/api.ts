// The server's APIs, as the UI calls them. Errors keep the server's own message (Elasticsearch's
// `{"error": {"type", "reason"}}`) so every panel can show it rather than go blank.

import type { JsonValue } from "./docs";
import type { FieldInfo } from "./suggest";

const AUTH_KEY = "trailscope.auth";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** The Authorization header the user logged in with (kept for this browser tab only). */
export function authHeader(): string | null {
  return sessionStorage.getItem(AUTH_KEY);
}

export function setAuth(header: string | null): void {
  if (header === null) sessionStorage.removeItem(AUTH_KEY);
  else sessionStorage.setItem(AUTH_KEY, header);
}

/** What to show for a failure: the server's own message where there is one. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.reason;
  return e instanceof Error ? e.message : String(e);
}

/** A panel's failure: the server's error type and message, or the error as it is. */
export function errorDetail(e: unknown): string {
  return e instanceof ApiError ? `${e.type}: ${e.reason}` : String(e);
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the server answers 401, so the app can show its login page. */
export function onUnauthorized(l: Listener): () => void {
  unauthorizedListeners.add(l);
  return () => unauthorizedListeners.delete(l);
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", "x-requested-with": "trailscope-ui" };
  const auth = authHeader();
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers["content-type"] = "application/json";
  let r: Response;
  try {
    r = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network_error", `cannot reach the trailscope server: ${String(e)}`);
  }
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Fall through: a non-JSON body is reported as it is.
  }
  if (!r.ok) {
    if (r.status === 401) unauthorizedListeners.forEach((l) => l());
    const err = (json as { error?: { type?: string; reason?: string } } | undefined)?.error;
    throw new ApiError(r.status, err?.type ?? "http_error", err?.reason ?? (text || `HTTP ${r.status}`));
  }
  return json as T;
}

export interface Hit {
  _id: string;
  _source: JsonValue;
  sort?: unknown[];
  highlight?: Record<string, string[]>;
}

export interface Bucket {
  key: string | number;
  key_as_string?: string;
  doc_count: number;
}

export interface SearchResponse {
  took: number;
  hits: { total?: { value: number; relation: string }; hits: Hit[] };
  aggregations?: Record<string, { buckets?: Bucket[]; doc_count?: number; value?: number | null; sum_other_doc_count?: number }>;
}

export function search(body: unknown, signal?: AbortSignal): Promise<SearchResponse> {
  return request<SearchResponse>("POST", "/_elastic/cloudtrail/_search", body, signal);
}

export interface FieldsResponse {
  events: number;
  fields: FieldInfo[];
}

export function fields(): Promise<FieldsResponse> {
  return request<FieldsResponse>("GET", "/api/fields");
}

export interface SavedObject<A> {
  id: string;
  type: string;
  version: number;
  updated_at: string;
  attributes: A & { title: string };
}

export const saved = {
  list<A>(type: string): Promise<{ objects: Array<SavedObject<A>> }> {
    return request("GET", `/api/saved-objects?type=${encodeURIComponent(type)}`);
  },
  get<A>(type: string, id: string): Promise<SavedObject<A>> {
    return request("GET", `/api/saved-objects/${type}/${encodeURIComponent(id)}`);
  },
  create<A>(type: string, attributes: A & { title: string }): Promise<SavedObject<A>> {
    return request("POST", `/api/saved-objects/${type}`, { attributes });
  },
  update<A>(type: string, id: string, attributes: A & { title: string }, version?: number): Promise<SavedObject<A>> {
    return request("PUT", `/api/saved-objects/${type}/${encodeURIComponent(id)}`, { attributes, version });
  },
  remove(type: string, id: string): Promise<unknown> {
    return request("DELETE", `/api/saved-objects/${type}/${encodeURIComponent(id)}`);
  },
};
