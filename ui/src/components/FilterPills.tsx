import { describeFilter, type Filter } from "../lib/filters";

/** The filters added from fields and documents, each removable; a click inverts it. */
export function FilterPills({ filters, onChange }: { filters: Filter[]; onChange: (f: Filter[]) => void }) {
  if (filters.length === 0) return null;
  return (
    <ul className="pills" aria-label="Filters">
      {filters.map((f, i) => (
        <li key={`${f.field}:${f.value}`} className={f.negate ? "pill negate" : "pill"}>
          <button
            type="button"
            className="link"
            title="Invert this filter"
            onClick={() => onChange(filters.map((x, j) => (j === i ? { ...x, negate: !x.negate } : x)))}
          >
            {describeFilter(f)}
          </button>
          <button type="button" aria-label={`Remove filter ${describeFilter(f)}`} onClick={() => onChange(filters.filter((_, j) => j !== i))}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
