import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { FieldSidebar } from "../components/FieldSidebar";
import { FilterPills } from "../components/FilterPills";
import { Histogram } from "../components/Histogram";
import { DocTable } from "../components/DocTable";
import { QueryBar } from "../components/QueryBar";
import { SavedSearches } from "../components/SavedSearches";
import type { SearchAttributes } from "../lib/savedObjects";
import { TimePicker } from "../components/TimePicker";
import { ApiError, errorText, saved, search, type Bucket, type Hit, type SavedObject } from "../lib/api";
import { defaultState, moveColumn, stateFromParams, stateToParams, toggleColumn, type DiscoverState } from "../lib/discoverState";
import { discoverBody, histogramInterval, nextPageBody, PAGE_SIZE } from "../lib/esRequest";
import { addFilter, type Filter } from "../lib/filters";
import { formatCount } from "../lib/format";
import { INTERVAL_CHOICES, resolveRange } from "../lib/time";
import { useFields } from "../lib/useFields";
import { navigate } from "../router";

interface Result {
  hits: Hit[];
  total: number;
  buckets: Bucket[];
  intervalLabel: string;
  range: { from: number; to: number };
  took: number;
  done: boolean;
}

/** Discover: query bar, time picker, histogram, documents and fields; all state in the URL. */
export function Discover({ search: urlSearch }: { search: string }) {
  const state = useMemo(() => stateFromParams(new URLSearchParams(urlSearch)), [urlSearch]);
  const { fields: fieldList, error: fieldsError } = useFields();
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [loading, setLoading] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [tick, setTick] = useState(0);
  const [current, setCurrent] = useState<SavedObject<SearchAttributes> | null>(null);

  const update = useCallback(
    (patch: Partial<DiscoverState>, replace = false) => {
      const next = { ...state, ...patch };
      const qs = stateToParams(next).toString();
      navigate(`/discover${qs ? `?${qs}` : ""}`, replace);
    },
    [state],
  );

  // The saved search named in the URL (a shared link, or after Open).
  useEffect(() => {
    if (!state.savedId) {
      setCurrent(null);
      return;
    }
    if (current?.id === state.savedId) return;
    let live = true;
    saved
      .get<SearchAttributes>("search", state.savedId)
      .then((o) => live && setCurrent(o))
      .catch(() => live && setCurrent(null));
    return () => {
      live = false;
    };
  }, [state.savedId, current?.id]);

  const queryKey = JSON.stringify([state.query, state.from, state.to, state.filters, state.sort, state.interval, tick]);
  useEffect(() => {
    const range = resolveRange({ from: state.from, to: state.to }, Date.now());
    if (range instanceof Error) {
      setError(range);
      setResult(null);
      setLoading(false);
      return;
    }
    const interval = histogramInterval(state, range);
    const abort = new AbortController();
    setLoading(true);
    search(discoverBody(state, range, interval), abort.signal)
      .then((r) => {
        setError(null);
        setResult({
          hits: r.hits.hits,
          total: r.hits.total?.value ?? r.hits.hits.length,
          buckets: r.aggregations?.histogram?.buckets ?? [],
          intervalLabel: interval.label,
          range,
          took: r.took,
          done: r.hits.hits.length < PAGE_SIZE,
        });
        generation.current += 1;
        setMoreError(null);
      })
      .catch((e: unknown) => {
        if (abort.signal.aborted) return;
        setError(e instanceof Error ? e : new Error(String(e)));
        setResult(null);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
    // queryKey stands for everything the request depends on.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [queryKey]);

  // Auto-refresh re-resolves relative ranges, so "last 15 minutes" moves with the clock.
  useEffect(() => {
    if (state.refresh <= 0) return;
    const t = setInterval(() => setTick((n) => n + 1), state.refresh * 1000);
    return () => clearInterval(t);
  }, [state.refresh]);

  // Each new first page starts a generation; a next page from an older one is dropped.
  const generation = useRef(0);
  const [moreError, setMoreError] = useState<string | null>(null);
  const loadMore = useCallback(() => {
    if (!result || result.done || loadingMore || moreError) return;
    const last = result.hits[result.hits.length - 1];
    if (!last?.sort) return;
    const started = generation.current;
    setLoadingMore(true);
    search(nextPageBody(state, result.range, last.sort))
      .then((r) => {
        if (generation.current !== started) return;
        setResult((cur) => (cur ? { ...cur, hits: [...cur.hits, ...r.hits.hits], done: r.hits.hits.length < PAGE_SIZE } : cur));
      })
      // Shown with a Retry button: retrying by itself would repeat a failing request forever.
      .catch((e: unknown) => generation.current === started && setMoreError(errorText(e)))
      .finally(() => setLoadingMore(false));
  }, [result, loadingMore, moreError, state]);

  // Infinite scroll: the next page loads as the end of the table comes into view.
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [loadMore]);

  const onFilter = (f: Filter) => update({ filters: addFilter(state.filters, f) });
  const onToggleColumn = (c: string) => update({ columns: toggleColumn(state.columns, c) });
  const queryError = error instanceof ApiError && error.status === 400 ? error.reason : null;
  const range = result?.range ?? null;

  return (
    <div className="discover">
      <div className="toolbar">
        <SavedSearches
          state={state}
          current={current}
          onNew={() => {
            // A new search starts from scratch but keeps the time range, as in Kibana.
            const fresh = { ...defaultState(), from: state.from, to: state.to, refresh: state.refresh };
            const qs = stateToParams(fresh).toString();
            navigate(`/discover${qs ? `?${qs}` : ""}`);
          }}
          onSaved={(o) => {
            setCurrent(o);
            update({ savedId: o.id });
          }}
          onOpen={(o) => {
            setCurrent(o);
            const a = o.attributes;
            update({ savedId: o.id, query: a.query, filters: a.filters, columns: a.columns, sort: a.sort });
          }}
        />
        <TimePicker
          range={{ from: state.from, to: state.to }}
          refresh={state.refresh}
          onChange={(r) => update({ from: r.from, to: r.to })}
          onRefreshChange={(secs) => update({ refresh: secs }, true)}
        />
      </div>
      <QueryBar value={state.query} fields={fieldList} error={queryError} onSubmit={(q) => (q === state.query ? setTick((n) => n + 1) : update({ query: q }))} />
      <FilterPills filters={state.filters} onChange={(filters) => update({ filters })} />
      <div className="discover-body">
        {fieldsError ? (
          <aside className="sidebar">
            <p className="error">Fields could not be loaded: {fieldsError}</p>
          </aside>
        ) : (
          <FieldSidebar fields={fieldList} columns={state.columns} state={state} range={range} onToggleColumn={onToggleColumn} onFilter={onFilter} />
        )}
        <section className="results" aria-busy={loading}>
          {error && !queryError && (
            <div className="error panel-error" role="alert">
              {error instanceof ApiError ? `${error.type}: ${error.reason}` : error.message}
            </div>
          )}
          {result && (
            <>
              <div className="hitbar">
                <span className="hitcount" data-testid="hit-count">
                  <b>{formatCount(result.total)}</b> hits
                </span>
                <span className="muted small">
                  {loading ? "loading…" : `${result.took} ms`} · per{" "}
                  <select aria-label="Interval" value={state.interval} onChange={(e) => update({ interval: e.target.value })}>
                    <option value="auto">auto ({result.intervalLabel})</option>
                    {INTERVAL_CHOICES.map((i) => (
                      <option key={i} value={i}>
                        {i}
                      </option>
                    ))}
                  </select>
                </span>
              </div>
              <Histogram
                buckets={result.buckets}
                range={result.range}
                onSelect={(from, to) => update({ from: new Date(from).toISOString(), to: new Date(to).toISOString() })}
              />
              {result.hits.length === 0 ? (
                <div className="empty">
                  <h3>No results match your search criteria</h3>
                  <p className="muted">Widen the time range, or remove filters.</p>
                </div>
              ) : (
                <DocTable
                  hits={result.hits}
                  columns={state.columns}
                  sort={state.sort}
                  onSort={(sort) => update({ sort })}
                  onMove={(c, by) => update({ columns: moveColumn(state.columns, c, by) })}
                  onToggleColumn={onToggleColumn}
                  onFilter={onFilter}
                />
              )}
              <div ref={sentinel} className="more muted small">
                {moreError ? (
                  <span className="error">
                    The next page failed: {moreError}{" "}
                    <button type="button" onClick={() => setMoreError(null)}>
                      Retry
                    </button>
                  </span>
                ) : result.done ? (
                  result.hits.length > 0 ? `All ${formatCount(result.hits.length)} of these hits are shown.` : ""
                ) : loadingMore ? (
                  "Loading more…"
                ) : (
                  ""
                )}
              </div>
            </>
          )}
          {!result && loading && <p className="muted">Searching…</p>}
        </section>
      </div>
    </div>
  );
}

