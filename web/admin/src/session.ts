// The signed-in staff user's session and the API client every page uses.
//
// The access token lives in memory and in this tab's sessionStorage (so a reload keeps the
// session, and closing the tab ends it). It is refreshed with the refresh token a minute before
// it expires, and once more when an answer says 401.
import {
  createTesseraClient,
  decodeAccessToken,
  TesseraApiError,
  unwrap,
  type AccessClaims,
  type Schema,
} from "@tessera/client";

export const STORAGE_KEY = "tessera.admin.session";

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, ms since the epoch. */
  expiresAt: number;
  user: Schema<"UserView">;
  claims: AccessClaims;
}

type Listener = () => void;

let current: Session | null = load();
const listeners = new Set<Listener>();
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<Session | null> | null = null;

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const stored = JSON.parse(raw) as Omit<Session, "claims">;
    return { ...stored, claims: decodeAccessToken(stored.accessToken) };
  } catch {
    return null;
  }
}

function store(next: Session | null): void {
  current = next;
  if (next) {
    const { claims: _claims, ...rest } = next;
    void _claims;
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(rest));
  } else {
    sessionStorage.removeItem(STORAGE_KEY);
  }
  scheduleRefresh();
  for (const listener of listeners) listener();
}

function fromLogin(answer: Schema<"LoginResponse">): Session {
  return {
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token,
    expiresAt: Date.now() + answer.expires_in * 1000,
    user: answer.user,
    claims: decodeAccessToken(answer.access_token),
  };
}

function scheduleRefresh(): void {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = undefined;
  if (!current) return;
  const wait = Math.max(5_000, current.expiresAt - Date.now() - 60_000);
  refreshTimer = setTimeout(() => void refresh(), wait);
}

export function getSession(): Session | null {
  return current;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls without a token: signing in, refreshing, signing out. */
const anonymous = createTesseraClient();

const AUTH_PATHS = ["/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"];

async function refreshingFetch(request: Request): Promise<Response> {
  const again = request.clone();
  const response = await fetch(request);
  const path = new URL(request.url, location.href).pathname;
  if (response.status !== 401 || !current || AUTH_PATHS.includes(path)) {
    return response;
  }
  const renewed = await refresh();
  if (!renewed) return response;
  again.headers.set("Authorization", `Bearer ${renewed.accessToken}`);
  return fetch(again);
}

/** The API, as the signed-in user. */
export const api = createTesseraClient({
  token: () => current?.accessToken,
  fetch: refreshingFetch,
});

export async function signIn(email: string, password: string): Promise<Session> {
  const answer = await unwrap(
    anonymous.POST("/api/v1/auth/login", { body: { email, password } }),
  );
  const session = fromLogin(answer);
  if (!session.claims.role || session.claims.role === "customer") {
    // Not staff: end the session at once; members use the member app.
    await anonymous.POST("/api/v1/auth/logout", { body: { refresh_token: answer.refresh_token } });
    throw new Error("This back office is for staff accounts. Members sign in to the member app.");
  }
  store(session);
  return session;
}

/** Exchanges the refresh token for a new pair; signs out when it is refused. */
export function refresh(): Promise<Session | null> {
  if (refreshing) return refreshing;
  const session = current;
  if (!session) return Promise.resolve(null);
  refreshing = (async () => {
    try {
      const answer = await unwrap(
        anonymous.POST("/api/v1/auth/refresh", { body: { refresh_token: session.refreshToken } }),
      );
      const renewed = fromLogin(answer);
      store(renewed);
      return renewed;
    } catch (error) {
      if (error instanceof TesseraApiError && error.status < 500) {
        store(null);
      } else {
        scheduleRefresh();
      }
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function signOut(): Promise<void> {
  const session = current;
  store(null);
  if (session) {
    try {
      await anonymous.POST("/api/v1/auth/logout", {
        body: { refresh_token: session.refreshToken },
      });
    } catch {
      // Signed out here either way; the access token expires on its own.
    }
  }
}

scheduleRefresh();
