// A small history-API router: the app has a handful of pages and keeps their state in the URL.

import { useEffect, useState } from "react";

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  listeners.forEach((l) => l());
}

export function useLocation(): { path: string; search: string } {
  const read = () => ({ path: window.location.pathname, search: window.location.search });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return loc;
}

let flash: string | null = null;

/** A message for the next page to show once ("Saved …" survives the redirect to the new URL). */
export function setFlash(message: string): void {
  flash = message;
}

export function takeFlash(): string | null {
  const m = flash;
  flash = null;
  return m;
}
