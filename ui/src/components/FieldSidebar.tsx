import { useEffect, useState } from "react";
import { errorText, search, type Bucket } from "../lib/api";
import type { DiscoverState } from "../lib/discoverState";
import { topValuesBody } from "../lib/esRequest";
import type { Filter } from "../lib/filters";
import { formatCount } from "../lib/format";
import type { FieldInfo } from "../lib/suggest";

interface Props {
  fields: FieldInfo[];
  columns: string[];
  state: DiscoverState;
  range: { from: number; to: number } | null;
  onToggleColumn: (c: string) => void;
  onFilter: (f: Filter) => void;
}

/** Discovered fields; a field opens to its top 5 values under the current query, with ＋/− filters. */
export function FieldSidebar({ fields, columns, state, range, onToggleColumn, onFilter }: Props) {
  const [filter, setFilter] = useState("");
  const [showEmpty, setShowEmpty] = useState(false);
  const [openField, setOpenField] = useState<string | null>(null);
  const f = filter.toLowerCase();
  const shown = fields.filter((x) => (showEmpty || x.count > 0) && x.name.toLowerCase().includes(f));
  const selected = columns.map((c) => fields.find((x) => x.name === c) ?? { name: c, type: "keyword", count: 0, aggregatable: true, searchable: true, json_path: false });
  return (
    <aside className="sidebar" aria-label="Fields">
      <input aria-label="Filter field names" placeholder="Filter fields" value={filter} onChange={(e) => setFilter(e.target.value)} />
      <h4>Selected fields</h4>
      <ul className="fields">
        {selected.map((x) => (
          <FieldRow key={x.name} field={x} selected open={openField === x.name} onOpen={() => setOpenField(openField === x.name ? null : x.name)} onToggleColumn={onToggleColumn} onFilter={onFilter} state={state} range={range} />
        ))}
      </ul>
      <h4>
        Available fields <span className="muted">({shown.length})</span>
      </h4>
      <label className="muted small">
        <input type="checkbox" checked={showEmpty} onChange={(e) => setShowEmpty(e.target.checked)} /> show fields no sampled event has
      </label>
      <ul className="fields">
        {shown
          .filter((x) => !columns.includes(x.name))
          .map((x) => (
            <FieldRow key={x.name} field={x} selected={false} open={openField === x.name} onOpen={() => setOpenField(openField === x.name ? null : x.name)} onToggleColumn={onToggleColumn} onFilter={onFilter} state={state} range={range} />
          ))}
      </ul>
    </aside>
  );
}

interface RowProps {
  field: FieldInfo;
  selected: boolean;
  open: boolean;
  onOpen: () => void;
  onToggleColumn: (c: string) => void;
  onFilter: (f: Filter) => void;
  state: DiscoverState;
  range: { from: number; to: number } | null;
}

function FieldRow({ field, selected, open, onOpen, onToggleColumn, onFilter, state, range }: RowProps) {
  return (
    <li className={open ? "field open" : "field"} data-field={field.name}>
      <div className="fieldrow">
        <button type="button" className="link fieldname" aria-expanded={open} onClick={onOpen} title={`${field.name} (${field.type})`}>
          <span className={`ftype ftype-${field.type}`}>{field.type}</span> {field.name}
        </button>
        <button type="button" className="small" aria-label={`${selected ? "Remove" : "Add"} column ${field.name}`} onClick={() => onToggleColumn(field.name)}>
          {selected ? "remove" : "add"}
        </button>
      </div>
      {open && <TopValues field={field} state={state} range={range} onFilter={onFilter} />}
    </li>
  );
}

type TopResult = { buckets: Bucket[]; present: number; total: number } | { error: string } | null;

function TopValues({ field, state, range, onFilter }: { field: FieldInfo; state: DiscoverState; range: { from: number; to: number } | null; onFilter: (f: Filter) => void }) {
  const [result, setResult] = useState<TopResult>(null);
  const key = JSON.stringify([field.name, state.query, state.filters, range]);
  useEffect(() => {
    if (!field.aggregatable || !range) return;
    const abort = new AbortController();
    setResult(null);
    search(topValuesBody(state, range, field.name), abort.signal)
      .then((r) => {
        const total = r.hits.total?.value ?? 0;
        setResult({ buckets: r.aggregations?.top?.buckets ?? [], present: r.aggregations?.present?.doc_count ?? 0, total });
      })
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setResult({ error: errorText(e) });
      });
    return () => abort.abort();
    // `key` stands for the field, the query, the filters and the range.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  if (!field.aggregatable) return <p className="muted small topvalues">{field.name} is free text: search it in the query bar.</p>;
  if (!result) return <p className="muted small topvalues">Loading top values…</p>;
  if ("error" in result) return <p className="error small topvalues">{result.error}</p>;
  return (
    <div className="topvalues">
      <p className="muted small">
        Top 5 values · {formatCount(result.present)} of {formatCount(result.total)} events have it
      </p>
      {result.buckets.length === 0 && <p className="muted small">No values in this range.</p>}
      <ul>
        {result.buckets.map((b) => {
          const value = String(b.key_as_string ?? b.key);
          const pct = result.total > 0 ? (100 * b.doc_count) / result.total : 0;
          return (
            <li key={value} data-value={value} data-count={b.doc_count}>
              <div className="valuerow">
                <span className="value" title={value}>
                  {value}
                </span>
                <span className="pct">{pct.toFixed(1)}%</span>
                <button type="button" aria-label={`Filter for ${field.name}: ${value}`} onClick={() => onFilter({ field: field.name, value, negate: false })}>
                  ＋
                </button>
                <button type="button" aria-label={`Filter out ${field.name}: ${value}`} onClick={() => onFilter({ field: field.name, value, negate: true })}>
                  −
                </button>
              </div>
              <div className="bar" style={{ width: `${pct}%` }} />
            </li>
          );
        })}
      </ul>
    </div>
  );
}
