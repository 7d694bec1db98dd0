import { useEffect, useState } from "react";
import { errorText, fields } from "./api";
import type { FieldInfo } from "./suggest";

let cache: Promise<FieldInfo[]> | null = null;

/** The discovered fields, fetched once per page load and shared by every component. */
export function useFields(): { fields: FieldInfo[]; error: string | null } {
  const [list, setList] = useState<FieldInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    cache ??= fields().then((r) => r.fields);
    cache.then(setList).catch((e: unknown) => {
      cache = null;
      setError(errorText(e));
    });
  }, []);
  return { fields: list, error };
}
