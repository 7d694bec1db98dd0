import { Fragment, useState } from "react";
import type { Hit } from "../lib/api";
import { flatten, formatValue, getPath, highlightedTerms, markTerms, type JsonValue } from "../lib/docs";
import { TIME_FIELD } from "../lib/discoverState";
import type { Filter } from "../lib/filters";
import { formatTime, utc } from "../lib/format";

interface Props {
  hits: Hit[];
  columns: string[];
  sort: "desc" | "asc";
  onSort: (s: "desc" | "asc") => void;
  onMove: (column: string, by: -1 | 1) => void;
  onToggleColumn: (column: string) => void;
  onFilter: (f: Filter) => void;
}

/** The documents: chosen columns, time sort, and each event expandable as a table or as JSON. */
export function DocTable({ hits, columns, sort, onSort, onMove, onToggleColumn, onFilter }: Props) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (id: string) => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };
  return (
    <table className="doctable">
      <thead>
        <tr>
          <th className="expander" aria-label="Expand" />
          <th className="time">
            <button type="button" className="link" onClick={() => onSort(sort === "desc" ? "asc" : "desc")} title="Sort by time">
              Time {sort === "desc" ? "↓" : "↑"}
            </button>
          </th>
          {columns.map((c, i) => (
            <th key={c} data-column={c}>
              <span className="colname">{c}</span>
              <span className="colbuttons">
                <button type="button" aria-label={`Move ${c} left`} disabled={i === 0} onClick={() => onMove(c, -1)}>
                  ‹
                </button>
                <button type="button" aria-label={`Move ${c} right`} disabled={i === columns.length - 1} onClick={() => onMove(c, 1)}>
                  ›
                </button>
                <button type="button" aria-label={`Remove column ${c}`} onClick={() => onToggleColumn(c)}>
                  ×
                </button>
              </span>
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {hits.map((h) => {
          const isOpen = open.has(h._id);
          return (
            <Fragment key={h._id}>
              <tr className={isOpen ? "doc open" : "doc"}>
                <td className="expander">
                  <button type="button" aria-label={isOpen ? "Collapse event" : "Expand event"} aria-expanded={isOpen} onClick={() => toggle(h._id)}>
                    {isOpen ? "▾" : "▸"}
                  </button>
                </td>
                <TimeCell source={h._source} />
                {columns.map((c) => (
                  <td key={c}>{formatValue(getPath(h._source, c))}</td>
                ))}
              </tr>
              {isOpen && (
                <tr className="details">
                  <td colSpan={columns.length + 2}>
                    <DocDetails hit={h} columns={columns} onToggleColumn={onToggleColumn} onFilter={onFilter} />
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}

function DocDetails({ hit, columns, onToggleColumn, onFilter }: { hit: Hit; columns: string[]; onToggleColumn: (c: string) => void; onFilter: (f: Filter) => void }) {
  const [tab, setTab] = useState<"table" | "json">("table");
  const terms = highlightedTerms(hit.highlight);
  return (
    <div className="docdetails">
      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === "table"} className={tab === "table" ? "active" : ""} onClick={() => setTab("table")}>
          Table
        </button>
        <button type="button" role="tab" aria-selected={tab === "json"} className={tab === "json" ? "active" : ""} onClick={() => setTab("json")}>
          JSON
        </button>
        <span className="docid">_id {hit._id}</span>
      </div>
      {tab === "json" ? (
        <pre className="json" aria-label="Event JSON">
          {markTerms(JSON.stringify(hit._source, null, 2), terms).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <Fragment key={i}>{p.text}</Fragment>))}
        </pre>
      ) : (
        <table className="fieldtable">
          <tbody>
            {flatten(hit._source).map(([field, value]) => {
              const text = formatValue(value);
              return (
                <tr key={field}>
                  <td className="actions">
                    <button type="button" title={`Filter for ${field}: ${text}`} aria-label={`Filter for ${field}`} onClick={() => onFilter({ field, value: text, negate: false })}>
                      ＋
                    </button>
                    <button type="button" title={`Filter out ${field}: ${text}`} aria-label={`Filter out ${field}`} onClick={() => onFilter({ field, value: text, negate: true })}>
                      −
                    </button>
                    <button type="button" title="Toggle column" aria-label={`Toggle column ${field}`} aria-pressed={columns.includes(field)} onClick={() => onToggleColumn(field)}>
                      ▥
                    </button>
                  </td>
                  <th>{field}</th>
                  <td>
                    {markTerms(text, terms).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <Fragment key={i}>{p.text}</Fragment>))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** An event's time in the browser's zone, with UTC on hover. */
export function TimeCell({ source }: { source: JsonValue }) {
  const t = Date.parse(formatValue(getPath(source, TIME_FIELD)));
  if (Number.isNaN(t)) return <td className="time" />;
  return (
    <td className="time" title={utc(t)}>
      {formatTime(t)}
    </td>
  );
}
