import { useEffect, useMemo, useState } from "react";
import { FieldSelect } from "../components/FieldSelect";
import { FilterPills } from "../components/FilterPills";
import { QueryBar } from "../components/QueryBar";
import type { SearchAttributes } from "../lib/savedObjects";
import { TimePicker } from "../components/TimePicker";
import { PanelBoundary, VisChart } from "../components/VisChart";
import { errorText, saved, type SavedObject } from "../lib/api";
import { INTERVAL_CHOICES, DEFAULT_RANGE, resolveRange, type TimeRange } from "../lib/time";
import { useFields } from "../lib/useFields";
import { defaultSpec, VIS_TYPES, type Metric, type VisSpec, type VisType } from "../lib/vis";
import { navigate, setFlash, takeFlash } from "../router";

/** `/visualize`, `/visualize/create?type=…`, `/visualize/edit/<id>`. */
export function Visualize({ path, search }: { path: string; search: string }) {
  const params = new URLSearchParams(search);
  const range: TimeRange = { from: params.get("from") ?? DEFAULT_RANGE.from, to: params.get("to") ?? DEFAULT_RANGE.to };
  const setRange = (r: TimeRange) => {
    const p = new URLSearchParams(search);
    p.set("from", r.from);
    p.set("to", r.to);
    navigate(`${path}?${p.toString()}`, true);
  };
  if (path.startsWith("/visualize/create")) {
    const type = (params.get("type") ?? "table") as VisType;
    return <Editor key={`new-${type}`} initial={null} type={VIS_TYPES.some((t) => t.type === type) ? type : "table"} searchId={params.get("search")} range={range} setRange={setRange} />;
  }
  const edit = path.match(/^\/visualize\/edit\/([A-Za-z0-9_-]+)/);
  if (edit?.[1]) return <LoadEditor id={edit[1]} range={range} setRange={setRange} />;
  return <VisList search={search} />;
}

function VisList({ search }: { search: string }) {
  const [list, setList] = useState<Array<SavedObject<VisSpec>> | null>(null);
  const [searches, setSearches] = useState<Array<SavedObject<SearchAttributes>>>([]);
  const [error, setError] = useState<string | null>(null);
  const [fromSearch, setFromSearch] = useState("");
  const load = () =>
    saved
      .list<VisSpec>("visualization")
      .then((r) => setList(r.objects))
      .catch((e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
    saved
      .list<SearchAttributes>("search")
      .then((r) => setSearches(r.objects))
      .catch(() => setSearches([]));
  }, []);
  const keep = new URLSearchParams(search);
  const create = (type: VisType) => {
    const p = new URLSearchParams();
    p.set("type", type);
    if (fromSearch) p.set("search", fromSearch);
    for (const k of ["from", "to"]) {
      const v = keep.get(k);
      if (v) p.set(k, v);
    }
    navigate(`/visualize/create?${p.toString()}`);
  };
  return (
    <div className="page">
      <h2>Create a visualization</h2>
      <label className="row small">
        From
        <select aria-label="Source" value={fromSearch} onChange={(e) => setFromSearch(e.target.value)}>
          <option value="">a new query</option>
          {searches.map((s) => (
            <option key={s.id} value={s.id}>
              saved search: {s.attributes.title}
            </option>
          ))}
        </select>
      </label>
      <div className="typegrid">
        {VIS_TYPES.map((t) => (
          <button type="button" key={t.type} className="typecard" onClick={() => create(t.type)} aria-label={`Create ${t.label}`}>
            <b>{t.label}</b>
            <span className="muted small">{t.help}</span>
          </button>
        ))}
      </div>
      <h2>Saved visualizations</h2>
      {error && <p className="error">{error}</p>}
      {list?.length === 0 && <p className="muted">None yet.</p>}
      <ul className="objlist">
        {list?.map((v) => (
          <li key={v.id}>
            <a
              href={`/visualize/edit/${v.id}`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/visualize/edit/${v.id}`);
              }}
            >
              {v.attributes.title}
            </a>
            <span className="muted small">{VIS_TYPES.find((t) => t.type === v.attributes.type)?.label}</span>
            <button
              type="button"
              className="small danger"
              onClick={() => {
                if (window.confirm(`Delete the visualization "${v.attributes.title}"?`)) void saved.remove("visualization", v.id).then(load, (e: unknown) => setError(String(e)));
              }}
            >
              delete
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function LoadEditor({ id, range, setRange }: { id: string; range: TimeRange; setRange: (r: TimeRange) => void }) {
  const [obj, setObj] = useState<SavedObject<VisSpec> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    saved
      .get<VisSpec>("visualization", id)
      .then(setObj)
      .catch((e: unknown) => setError(errorText(e)));
  }, [id]);
  if (error) return <p className="error page">{error}</p>;
  if (!obj) return <p className="muted page">Loading…</p>;
  return <Editor key={`${obj.id}-${obj.version}`} initial={obj} type={obj.attributes.type} searchId={null} range={range} setRange={setRange} />;
}

interface EditorProps {
  initial: SavedObject<VisSpec> | null;
  type: VisType;
  searchId: string | null;
  range: TimeRange;
  setRange: (r: TimeRange) => void;
}

function Editor({ initial, type, searchId, range, setRange }: EditorProps) {
  const { fields } = useFields();
  const [spec, setSpec] = useState<VisSpec>(initial?.attributes ?? defaultSpec(type));
  const [version, setVersion] = useState(initial?.version);
  const id = initial?.id;
  const [status, setStatus] = useState<string | null>(null);
  // "Saved" from the editor this one replaced when a new visualization got its id.
  useEffect(() => {
    const m = takeFlash();
    if (m) setStatus(m);
  }, []);
  const [tick, setTick] = useState(0);

  // Made from a saved search: copy its query and filters, and remember where they came from.
  useEffect(() => {
    if (!searchId) return;
    saved
      .get<SearchAttributes>("search", searchId)
      .then((s) => setSpec((v) => ({ ...v, query: s.attributes.query, filters: s.attributes.filters, savedSearchId: s.id, title: v.title || s.attributes.title })))
      .catch((e: unknown) => setStatus(`the saved search could not be read: ${String(e)}`));
  }, [searchId]);

  // "now" is read when the range or the refresh tick changes, not on every render.
  const resolved = useMemo(() => resolveRange(range, Date.now()), [range.from, range.to, tick]);
  const ctx = useMemo(() => (resolved instanceof Error ? null : { range: resolved }), [resolved]);
  const set = (patch: Partial<VisSpec>) => setSpec((s) => ({ ...s, ...patch }));

  async function save(e: React.FormEvent) {
    e.preventDefault();
    try {
      const o = id ? await saved.update("visualization", id, spec, version) : await saved.create("visualization", spec);
      if (id) {
        setVersion(o.version);
        setStatus(`Saved "${o.attributes.title}"`);
        return;
      }
      // A new visualization moves to its own URL, where a fresh editor opens it.
      setFlash(`Saved "${o.attributes.title}"`);
      const qs = new URLSearchParams({ from: range.from, to: range.to });
      navigate(`/visualize/edit/${o.id}?${qs.toString()}`, true);
    } catch (err) {
      setStatus(errorText(err));
    }
  }

  const label = VIS_TYPES.find((t) => t.type === spec.type)?.label ?? spec.type;
  return (
    <div className="page editor">
      <div className="toolbar">
        <h2>
          {label}: {spec.title || "untitled"}
        </h2>
        <div className="row">
          <TimePicker range={range} onChange={setRange} />
          <button type="button" onClick={() => setTick((t) => t + 1)}>
            Refresh
          </button>
        </div>
      </div>
      <div className="editor-body">
        <form className="editor-form" onSubmit={save} aria-label="Visualization settings">
          <label>
            Title
            <input aria-label="Title" value={spec.title} onChange={(e) => set({ title: e.target.value })} required />
          </label>
          <div>
            <span className="small muted">Query{spec.savedSearchId ? " (from a saved search)" : ""}</span>
            <QueryBar value={spec.query} fields={fields} error={null} onSubmit={(q) => set({ query: q })} />
            <FilterPills filters={spec.filters} onChange={(filters) => set({ filters })} />
          </div>
          <label>
            Metric
            <select
              aria-label="Metric"
              value={spec.metric.type}
              onChange={(e) => {
                const type = e.target.value as Metric["type"];
                const field = type === "cardinality" ? "userIdentity.arn" : "eventTime";
                if (type === "count") set({ metric: { type } });
                else if (type === "percent") set({ metric: { type, query: "errorCode:*" } });
                else set({ metric: { type, field: spec.metric.field ?? field } });
              }}
            >
              <option value="count">Count</option>
              <option value="cardinality">Unique count</option>
              <option value="min">Min (of eventTime: first seen)</option>
              <option value="max">Max (of eventTime: last seen)</option>
              <option value="percent">Share of events matching a query</option>
            </select>
          </label>
          {spec.metric.type === "percent" && (
            <label>
              Matching
              <input aria-label="Matching" value={spec.metric.query ?? ""} placeholder="errorCode:*" onChange={(e) => set({ metric: { type: "percent", query: e.target.value } })} />
            </label>
          )}
          {(spec.metric.type === "min" || spec.metric.type === "max") && (
            <label className="row small">
              <input type="checkbox" checked={spec.allHistory ?? false} onChange={(e) => set({ allHistory: e.target.checked })} /> over all history up to the range's end
            </label>
          )}
          {spec.metric.type !== "count" && spec.metric.type !== "percent" && <FieldSelect label="Of field" value={spec.metric.field ?? ""} fields={fields} onChange={(f) => set({ metric: { type: spec.metric.type, field: f } })} />}
          {(spec.type === "table" || spec.type === "pie") && (
            <fieldset>
              <legend>Split {spec.type === "pie" ? "slices" : "rows"}: top values</legend>
              <FieldSelect label="Field" value={spec.split?.field ?? ""} fields={fields} onChange={(f) => set({ split: { size: 5, order: "desc", ...spec.split, field: f } })} />
              <label>
                Size
                <input aria-label="Size" type="number" min={1} max={500} value={spec.split?.size ?? 5} onChange={(e) => set({ split: { field: "", order: "desc", ...spec.split, size: Math.max(1, Number(e.target.value)) } })} />
              </label>
              <label>
                Order
                <select aria-label="Order" value={spec.split?.order ?? "desc"} onChange={(e) => set({ split: { field: "", size: 5, ...spec.split, order: e.target.value === "asc" ? "asc" : "desc" } })}>
                  <option value="desc">Largest first</option>
                  <option value="asc">Smallest first</option>
                </select>
              </label>
              {spec.type === "pie" && (
                <label className="row small">
                  <input type="checkbox" checked={spec.donut ?? false} onChange={(e) => set({ donut: e.target.checked })} /> Donut
                </label>
              )}
            </fieldset>
          )}
          {(spec.type === "line" || spec.type === "bar") && (
            <fieldset>
              <legend>X axis: time</legend>
              <label>
                Interval
                <select aria-label="Interval" value={spec.interval ?? "auto"} onChange={(e) => set({ interval: e.target.value })}>
                  <option value="auto">auto</option>
                  {INTERVAL_CHOICES.map((i) => (
                    <option key={i} value={i}>
                      {i}
                    </option>
                  ))}
                </select>
              </label>
              <FieldSelect label="Split series" optional value={spec.series?.field ?? ""} fields={fields} onChange={(f) => set({ series: f ? { field: f, size: spec.series?.size ?? 5 } : undefined })} />
              {spec.series && (
                <label>
                  Series
                  <input aria-label="Series size" type="number" min={1} max={20} value={spec.series.size} onChange={(e) => set({ series: { field: spec.series?.field ?? "", size: Math.max(1, Number(e.target.value)) } })} />
                </label>
              )}
            </fieldset>
          )}
          {spec.type === "map" && (
            <label>
              Show
              <select aria-label="Map mode" value={spec.mapMode ?? "points"} onChange={(e) => set({ mapMode: e.target.value === "countries" ? "countries" : "points" })}>
                <option value="points">Points on a grid (geoip.location)</option>
                <option value="countries">Countries shaded by count</option>
              </select>
            </label>
          )}
          <div className="row">
            <button type="submit" className="primary" disabled={spec.title.trim() === ""}>
              Save
            </button>
            {status && (
              <span className="small" role="status">
                {status}
              </span>
            )}
          </div>
        </form>
        <section className="panel preview" aria-label="Preview">
          {ctx ? (
            <PanelBoundary key={JSON.stringify(spec)}>
              <VisChart spec={spec} ctx={ctx} tick={tick} />
            </PanelBoundary>
          ) : (
            <p className="error">{(resolved as Error).message}</p>
          )}
        </section>
      </div>
    </div>
  );
}
