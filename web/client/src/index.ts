/**
 * @tessera/client: a typed client for the Tessera API.
 *
 * The types (`paths`, `components`, `operations`) are generated from the API's OpenAPI document
 * (docs/openapi.json); the client is openapi-fetch, so every call is checked against them: the
 * path, its parameters (an `Idempotency-Key` header where the endpoint requires one), the body
 * and the answer.
 */
import createClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };
export type { Client, Middleware } from "openapi-fetch";

/** Every schema of the API, by name: `Schemas["BalanceView"]`. */
export type Schemas = components["schemas"];
/** One schema of the API: `Schema<"ChargeView">`. */
export type Schema<Name extends keyof Schemas> = Schemas[Name];
/** The body of every error answer (RFC 9457 `application/problem+json`). */
export type ProblemDetails = Schemas["ProblemDetails"];
/** A role a token can carry. */
export type Role = Schemas["Role"];
/** The typed client `createTesseraClient` returns. */
export type TesseraClient = Client<paths>;

/** The access token to send, or a function that gives the current one (read at every request). */
export type TokenSource =
  | string
  | null
  | undefined
  | (() => string | null | undefined | Promise<string | null | undefined>);

export interface TesseraClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /**
   * Where the API is: the edge's origin, e.g. `https://loyalty.example` (the paths start with
   * `/api/v1`). Leave it out in a browser page served by the edge itself: calls go to the same
   * origin.
   */
  baseUrl?: string;
  /** A bearer token: a member's or staff's access token, or a partner's client-credentials token. */
  token?: TokenSource;
}

/**
 * A client for the whole API.
 *
 * ```ts
 * const api = createTesseraClient({ baseUrl: "https://loyalty.example", token });
 * const { data, error } = await api.GET("/api/v1/points/{user_id}/balance", {
 *   params: { path: { user_id: memberId } },
 * });
 * ```
 */
export function createTesseraClient(options: TesseraClientOptions = {}): TesseraClient {
  const { token, baseUrl = "", ...rest } = options;
  const client = createClient<paths>({ ...rest, baseUrl: baseUrl.replace(/\/+$/, "") });
  if (token !== undefined && token !== null) {
    client.use(bearerAuth(token));
  }
  return client;
}

/** Middleware that sends `Authorization: Bearer <token>` unless the request already has one. */
export function bearerAuth(token: TokenSource): Middleware {
  return {
    async onRequest({ request }) {
      if (request.headers.has("Authorization")) {
        return request;
      }
      const value = typeof token === "function" ? await token() : token;
      if (value) {
        request.headers.set("Authorization", `Bearer ${value}`);
      }
      return request;
    },
  };
}

/**
 * A fresh `Idempotency-Key`: a random UUID. Make one per intended write and reuse it when
 * retrying that write (after a timeout or a network error), never for another write.
 */
export function idempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Whether a value is an RFC 9457 problem as the API sends them. */
export function isProblem(value: unknown): value is ProblemDetails {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { title?: unknown }).title === "string" &&
    typeof (value as { status?: unknown }).status === "number"
  );
}

/** An answer that was not a success, with the problem the API described. */
export class TesseraApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails | undefined;
  readonly response: Response;

  constructor(response: Response, body: unknown) {
    const problem = isProblem(body) ? body : undefined;
    super(
      problem
        ? problem.detail
          ? `${problem.title}: ${problem.detail}`
          : problem.title
        : `${response.status} ${response.statusText || "error"}`.trim(),
    );
    this.name = "TesseraApiError";
    this.status = response.status;
    this.problem = problem;
    this.response = response;
  }

  /** The problem's stable `type` (`urn:tessera:problem:...`), when the API sent one. */
  get type(): string | undefined {
    return this.problem?.type;
  }
}

type Answer<Data> = { data?: Data; error?: unknown; response: Response };

/**
 * The data of a successful answer, or a thrown `TesseraApiError` carrying the problem:
 * `const balance = await unwrap(api.GET(...))`.
 */
export async function unwrap<Data>(answer: Promise<Answer<Data>> | Answer<Data>): Promise<Data> {
  const { data, error, response } = await answer;
  if (!response.ok || error !== undefined) {
    throw new TesseraApiError(response, error);
  }
  return data as Data;
}

/** The `X-Next-Cursor` header of a page, for the lists that page by header. */
export function nextCursor(response: Response): string | undefined {
  return response.headers.get("X-Next-Cursor") ?? undefined;
}

/** What an access token says about its holder (the claims the services check). */
export interface AccessClaims {
  /** The user (or partner client) id. */
  sub: string;
  kind: "user" | "partner";
  role?: Role | null;
  /** The business a staff user or partner client acts in; absent for members and super admins. */
  biz?: string;
  /** Store-level staff: the stores they act at. */
  stores?: string[];
  /** A partner's scopes. */
  scopes?: string[];
  /** The login session (members and staff). */
  sid?: string;
  iat: number;
  /** Expiry, seconds since the epoch. */
  exp: number;
  iss?: string;
  aud?: string;
  jti?: string;
}

/**
 * The claims of an access token, read without verifying it: for deciding what to show, never
 * for deciding what is allowed (every service verifies the token and checks it again).
 */
export function decodeAccessToken(token: string): AccessClaims {
  const payload = token.split(".")[1];
  if (!payload) {
    throw new Error("not a JWT");
  }
  const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = globalThis.atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as AccessClaims;
}
