import { useEffect, useState } from "react";
import { errorDetail, search, type Hit } from "../lib/api";
import { TimeCell } from "./DocTable";
import { TIME_FIELD } from "../lib/discoverState";
import { formatValue, getPath } from "../lib/docs";
import { boolQuery } from "../lib/esRequest";
import type { Filter } from "../lib/filters";
import { formatCount } from "../lib/format";
import type { SearchAttributes } from "../lib/savedObjects";

interface Props {
  attrs: SearchAttributes;
  range: { from: number; to: number };
  query: string;
  filters: Filter[];
  tick: number;
}

/** A saved search on a dashboard: its newest events, with its columns. */
export function SearchPanel({ attrs, range, query, filters, tick }: Props) {
  const [state, setState] = useState<{ hits: Hit[]; total: number } | { error: string } | null>(null);
  const key = JSON.stringify([attrs, range, query, filters, tick]);
  useEffect(() => {
    const abort = new AbortController();
    setState(null);
    search({ size: 20, track_total_hits: true, sort: [{ [TIME_FIELD]: { order: attrs.sort } }], query: boolQuery([attrs.query, query], [...attrs.filters, ...filters], range) }, abort.signal)
      .then((r) => setState({ hits: r.hits.hits, total: r.hits.total?.value ?? 0 }))
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setState({ error: errorDetail(e) });
      });
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  if (state === null) return <div className="vis-state muted" data-state="loading">Loading…</div>;
  if ("error" in state)
    return (
      <div className="vis-state error" role="alert" data-state="error">
        {state.error}
      </div>
    );
  if (state.hits.length === 0) return <div className="vis-state muted" data-state="empty">No results in this time range.</div>;
  return (
    <div className="vis searchpanel" data-state="done" data-kind="search">
      <div className="muted small">{formatCount(state.total)} hits; newest 20</div>
      <table className="vistable">
        <thead>
          <tr>
            <th>Time</th>
            {attrs.columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {state.hits.map((h) => (
            <tr key={h._id}>
              <TimeCell source={h._source} />
              {attrs.columns.map((c) => (
                <td key={c}>{formatValue(getPath(h._source, c))}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
