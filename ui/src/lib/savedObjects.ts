// Saved objects the UI writes in bulk (imports, apps), and the attributes of a saved search.

import { saved } from "./api";
import type { BundleObject } from "./dashboard";
import type { Filter } from "./filters";

/** What a saved search keeps: the question, not the time range (as in Kibana). */
export interface SearchAttributes {
  title: string;
  query: string;
  filters: Filter[];
  columns: string[];
  sort: "desc" | "asc";
}

/** Writes every object (references first), replacing objects with the same ids. */
export async function importObjects(objects: BundleObject[]): Promise<void> {
  for (const o of objects) await saved.update(o.type, o.id, o.attributes);
}
