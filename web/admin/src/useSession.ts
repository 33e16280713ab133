import { useSyncExternalStore } from "react";
import { getSession, subscribe, type Session } from "./session";

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, getSession);
}

/** The signed-in session; pages under the signed-in layout only. */
export function useSignedIn(): Session {
  const session = useSession();
  if (!session) throw new Error("not signed in");
  return session;
}
