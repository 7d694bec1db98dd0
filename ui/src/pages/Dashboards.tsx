import { useEffect, useMemo, useRef, useState } from "react";
import ReactGridLayout, { useContainerWidth } from "react-grid-layout";
import "react-grid-layout/css/styles.css";
import { FilterPills } from "../components/FilterPills";
import { QueryBar } from "../components/QueryBar";
import type { SearchAttributes } from "../lib/savedObjects";
import { SearchPanel } from "../components/SearchPanel";
import { TimePicker } from "../components/TimePicker";
import { PanelBoundary, VisChart } from "../components/VisChart";
import { errorText, saved, type SavedObject } from "../lib/api";
import { importObjects } from "../lib/savedObjects";
import { addFilter, decodeFilter, encodeFilter, type Filter } from "../lib/filters";
import {
  addPanel,
  applyLayout,
  emptyDashboard,
  exportBundle,
  GRID_COLUMNS,
  parseBundle,
  removePanel,
  type BundleObject,
  type DashboardAttributes,
  type Panel,
} from "../lib/dashboard";
import { DEFAULT_RANGE, resolveRange } from "../lib/time";
import { useFields } from "../lib/useFields";
import type { VisSpec } from "../lib/vis";
import { navigate } from "../router";

/** `/dashboards` (the list) and `/dashboards/view/<id>`. */
export function Dashboards({ path, search }: { path: string; search: string }) {
  const view = path.match(/^\/dashboards\/view\/([A-Za-z0-9_-]+)/);
  if (view?.[1]) return <LoadDashboard key={view[1]} id={view[1]} search={search} />;
  return <DashboardList />;
}

function DashboardList() {
  const [list, setList] = useState<Array<SavedObject<DashboardAttributes>> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [title, setTitle] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const load = () =>
    saved
      .list<DashboardAttributes>("dashboard")
      .then((r) => setList(r.objects))
      .catch((e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, []);
  const act = (f: () => Promise<unknown>) =>
    f()
      .then(load)
      .catch((e: unknown) => setError(errorText(e)));

  async function importFile(file: File) {
    const b = parseBundle(await file.text());
    if (b instanceof Error) {
      setError(`${file.name}: ${b.message}`);
      return;
    }
    try {
      await importObjects(b.objects);
      setError(null);
      setNotice(`Imported ${b.objects.length} objects from ${file.name}`);
      await load();
    } catch (e) {
      setError(`${file.name}: ${errorText(e)}`);
    }
  }

  return (
    <div className="page">
      <h2>Dashboards</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void saved
            .create<DashboardAttributes>("dashboard", emptyDashboard(title.trim()))
            .then((o) => navigate(`/dashboards/view/${o.id}`))
            .catch((err: unknown) => setError(errorText(err)));
        }}
      >
        <input aria-label="New dashboard title" placeholder="New dashboard title" value={title} onChange={(e) => setTitle(e.target.value)} />
        <button type="submit" className="primary" disabled={title.trim() === ""}>
          Create dashboard
        </button>
        <label className="button-like">
          Import…
          <input
            type="file"
            accept="application/json,.json"
            aria-label="Import dashboard"
            hidden
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void importFile(f);
              e.target.value = "";
            }}
          />
        </label>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p className="small" role="status">
          {notice}
        </p>
      )}
      {list?.length === 0 && <p className="muted">No dashboards yet: create one, import one, or install an app.</p>}
      <ul className="objlist">
        {list?.map((d) => (
          <li key={d.id}>
            <a
              href={`/dashboards/view/${d.id}`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/dashboards/view/${d.id}`);
              }}
            >
              {d.attributes.title}
            </a>
            <span className="muted small">{d.attributes.panels.length} panels</span>
            <button type="button" className="small" onClick={() => act(() => saved.create("dashboard", { ...d.attributes, title: `${d.attributes.title} (copy)` }))}>
              clone
            </button>
            <button
              type="button"
              className="small danger"
              onClick={() => {
                if (window.confirm(`Delete the dashboard "${d.attributes.title}"? Its visualizations stay.`)) void act(() => saved.remove("dashboard", d.id));
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

function LoadDashboard({ id, search }: { id: string; search: string }) {
  const [obj, setObj] = useState<SavedObject<DashboardAttributes> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    saved
      .get<DashboardAttributes>("dashboard", id)
      .then(setObj)
      .catch((e: unknown) => setError(errorText(e)));
  }, [id]);
  if (error) return <p className="error page">{error}</p>;
  if (!obj) return <p className="muted page">Loading…</p>;
  return <DashboardView initial={obj} search={search} />;
}

type Refs = { visualization: Map<string, VisSpec>; search: Map<string, SearchAttributes>; missing: Set<string> };

function DashboardView({ initial, search }: { initial: SavedObject<DashboardAttributes>; search: string }) {
  const params = new URLSearchParams(search);
  const [dash, setDash] = useState(initial.attributes);
  const [version, setVersion] = useState(initial.version);
  const [dirty, setDirty] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [refs, setRefs] = useState<Refs>({ visualization: new Map(), search: new Map(), missing: new Set() });
  const [adding, setAdding] = useState(false);
  const [keepTime, setKeepTime] = useState(initial.attributes.from !== undefined);
  const [tick, setTick] = useState(0);
  const { fields } = useFields();
  const { width, containerRef, mounted } = useContainerWidth();

  // The URL overrides the saved query, filters and time, so a view can be shared.
  const from = params.get("from") ?? dash.from ?? DEFAULT_RANGE.from;
  const to = params.get("to") ?? dash.to ?? DEFAULT_RANGE.to;
  const query = params.get("q") ?? dash.query;
  const filters: Filter[] = params.has("f")
    ? params.getAll("f").flatMap((f) => {
        const d = decodeFilter(f);
        return d ? [d] : [];
      })
    : dash.filters;
  const setParams = (patch: Record<string, string | string[]>) => {
    const p = new URLSearchParams(search);
    for (const [k, v] of Object.entries(patch)) {
      p.delete(k);
      for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
    }
    navigate(`/dashboards/view/${initial.id}?${p.toString()}`, true);
  };
  // "none" (which decodes to nothing) says "no filters" in the URL, where an absent `f` means
  // "the dashboard's saved filters".
  const setFilters = (fs: Filter[]) => setParams({ f: fs.length ? fs.map(encodeFilter) : ["none"] });

  const refKey = dash.panels.map((p) => `${p.kind}/${p.ref}`).join(",");
  useEffect(() => {
    // Panels added in quick succession start several loads; only the latest may land.
    let current = true;
    const want = [...new Set(dash.panels.map((p) => `${p.kind}/${p.ref}`))];
    void Promise.all(
      want.map(async (k) => {
        const [kind, ref] = k.split("/") as ["visualization" | "search", string];
        try {
          const o = await saved.get<Record<string, unknown>>(kind, ref);
          return [k, o.attributes] as const;
        } catch {
          return [k, null] as const;
        }
      }),
    ).then((found) => {
      if (!current) return;
      const r: Refs = { visualization: new Map(), search: new Map(), missing: new Set() };
      for (const [k, a] of found) {
        const [kind, ref] = k.split("/") as [string, string];
        if (a === null) r.missing.add(k);
        else if (kind === "visualization") r.visualization.set(ref, a as unknown as VisSpec);
        else r.search.set(ref, a as unknown as SearchAttributes);
      }
      setRefs(r);
    });
    return () => {
      current = false;
    };
    // refKey stands for the panels' references.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [refKey]);

  // "now" is read when the range or the refresh tick changes, not on every render: a new
  // range object would make every panel query again.
  const resolved = useMemo(() => resolveRange({ from, to }, Date.now()), [from, to, tick]);
  const filtersKey = JSON.stringify(filters);
  const ctx = useMemo(
    () => (resolved instanceof Error ? null : { range: resolved, query, filters }),
    // filtersKey stands for the filters.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [resolved, query, filtersKey],
  );

  const change = (d: DashboardAttributes) => {
    setDash(d);
    setDirty(true);
  };

  async function save(asCopy: boolean) {
    const attrs: DashboardAttributes = { ...dash, query, filters };
    if (keepTime) {
      attrs.from = from;
      attrs.to = to;
    } else {
      delete attrs.from;
      delete attrs.to;
    }
    try {
      if (asCopy) {
        const o = await saved.create<DashboardAttributes>("dashboard", { ...attrs, title: `${attrs.title} (copy)` });
        navigate(`/dashboards/view/${o.id}`);
        return;
      }
      const o = await saved.update<DashboardAttributes>("dashboard", initial.id, attrs, version);
      setVersion(o.version);
      setDash(o.attributes);
      setDirty(false);
      setStatus("Saved");
    } catch (e) {
      setStatus(errorText(e));
    }
  }

  async function exportJson() {
    try {
      const objects: BundleObject[] = [];
      for (const k of new Set(dash.panels.map((p) => `${p.kind}/${p.ref}`))) {
        const [kind, ref] = k.split("/") as ["visualization" | "search", string];
        const o = await saved.get<Record<string, unknown>>(kind, ref);
        objects.push({ type: kind, id: o.id, attributes: o.attributes });
      }
      const bundle = exportBundle({ type: "dashboard", id: initial.id, attributes: { ...dash } as unknown as BundleObject["attributes"] }, objects, new Date());
      const blob = new Blob([JSON.stringify(bundle, null, 2)], { type: "application/json" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `${dash.title.replace(/[^A-Za-z0-9_-]+/g, "-").toLowerCase() || "dashboard"}.json`;
      a.click();
      // The download starts asynchronously; the URL must outlive this click.
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      setStatus(`cannot export: ${errorText(e)}`);
    }
  }

  const layout = dash.panels.map((p) => ({ i: p.i, x: p.x, y: p.y, w: p.w, h: p.h, minW: 2, minH: 3 }));
  const onFilter = (f: Filter) => setFilters(addFilter(filters, f));
  return (
    <div className="page dashboard">
      <div className="toolbar">
        <input className="dashtitle" aria-label="Dashboard title" size={Math.max(20, dash.title.length + 2)} value={dash.title} onChange={(e) => change({ ...dash, title: e.target.value })} />
        <div className="row">
          <button type="button" onClick={() => setAdding(!adding)} aria-expanded={adding}>
            Add panel
          </button>
          <button type="button" className="primary" onClick={() => void save(false)} disabled={dash.title.trim() === ""}>
            Save{dirty ? " *" : ""}
          </button>
          <label className="small row" title="Open the dashboard on this time range">
            <input type="checkbox" checked={keepTime} onChange={(e) => setKeepTime(e.target.checked)} /> store time
          </label>
          <button type="button" onClick={() => void save(true)}>
            Clone
          </button>
          <button type="button" onClick={() => void exportJson()}>
            Export
          </button>
          {status && (
            <span className="small" role="status">
              {status}
            </span>
          )}
          <TimePicker range={{ from, to }} refresh={Number(params.get("refresh") ?? 0)} onChange={(r) => setParams({ from: r.from, to: r.to })} onRefreshChange={(s) => setParams({ refresh: String(s) })} />
        </div>
      </div>
      {adding && <AddPanel onAdd={(kind, ref) => change(addPanel(dash, kind, ref))} onClose={() => setAdding(false)} />}
      <QueryBar value={query} fields={fields} error={null} onSubmit={(q) => (q === query ? setTick((t) => t + 1) : setParams({ q }))} />
      <FilterPills filters={filters} onChange={setFilters} />
      <AutoRefresh secs={Number(params.get("refresh") ?? 0)} onTick={() => setTick((t) => t + 1)} />
      {dash.panels.length === 0 && <p className="muted">This dashboard is empty: use Add panel.</p>}
      <div ref={containerRef} className="grid">
        {mounted && ctx && (
          <ReactGridLayout
            layout={layout}
            width={width}
            gridConfig={{ cols: GRID_COLUMNS, rowHeight: 36, margin: [10, 10] }}
            dragConfig={{ enabled: true, handle: ".panel-title" }}
            resizeConfig={{ enabled: true }}
            onLayoutChange={(l) => {
              const next = applyLayout(dash, l);
              if (JSON.stringify(next.panels) !== JSON.stringify(dash.panels)) change(next);
            }}
          >
            {dash.panels.map((p) => (
              <div key={p.i} className="panel dashpanel" data-panel={p.i}>
                <PanelBody p={p} refs={refs} ctx={ctx} tick={tick} onFilter={onFilter} onRemove={() => change(removePanel(dash, p.i))} />
              </div>
            ))}
          </ReactGridLayout>
        )}
        {!ctx && <p className="error">{(resolved as Error).message}</p>}
      </div>
    </div>
  );
}

function PanelBody({ p, refs, ctx, tick, onFilter, onRemove }: { p: Panel; refs: Refs; ctx: { range: { from: number; to: number }; query: string; filters: Filter[] }; tick: number; onFilter: (f: Filter) => void; onRemove: () => void }) {
  const vis = p.kind === "visualization" ? refs.visualization.get(p.ref) : undefined;
  const s = p.kind === "search" ? refs.search.get(p.ref) : undefined;
  const missing = refs.missing.has(`${p.kind}/${p.ref}`);
  const title = vis?.title ?? s?.title ?? (missing ? `missing ${p.kind} ${p.ref}` : "…");
  return (
    <>
      <div className="panel-title" title="Drag to move">
        <span>{title}</span>
        <button type="button" aria-label={`Remove panel ${title}`} onMouseDown={(e) => e.stopPropagation()} onClick={onRemove}>
          ×
        </button>
      </div>
      <div className="panel-body">
        {missing && <div className="vis-state error">The {p.kind} this panel shows was deleted.</div>}
        <PanelBoundary>
          {vis && <VisChart spec={vis} ctx={ctx} tick={tick} onFilter={onFilter} />}
          {s && <SearchPanel attrs={s} range={ctx.range} query={ctx.query} filters={ctx.filters} tick={tick} />}
        </PanelBoundary>
      </div>
    </>
  );
}

function AutoRefresh({ secs, onTick }: { secs: number; onTick: () => void }) {
  const tick = useRef(onTick);
  tick.current = onTick;
  useEffect(() => {
    if (secs <= 0) return;
    const t = setInterval(() => tick.current(), secs * 1000);
    return () => clearInterval(t);
  }, [secs]);
  return null;
}

function AddPanel({ onAdd, onClose }: { onAdd: (kind: Panel["kind"], ref: string) => void; onClose: () => void }) {
  const [vis, setVis] = useState<Array<SavedObject<VisSpec>>>([]);
  const [searches, setSearches] = useState<Array<SavedObject<SearchAttributes>>>([]);
  useEffect(() => {
    saved.list<VisSpec>("visualization").then((r) => setVis(r.objects), () => setVis([]));
    saved.list<SearchAttributes>("search").then((r) => setSearches(r.objects), () => setSearches([]));
  }, []);
  return (
    <div className="panel addpanel" role="dialog" aria-label="Add panels">
      <div className="row spread">
        <b>Add panels</b>
        <button type="button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      {vis.length + searches.length === 0 && <p className="muted">Nothing saved yet: save a visualization or a search first.</p>}
      <ul className="objlist">
        {vis.map((v) => (
          <li key={v.id}>
            <button type="button" className="link" onClick={() => onAdd("visualization", v.id)}>
              {v.attributes.title}
            </button>
            <span className="muted small">visualization</span>
          </li>
        ))}
        {searches.map((s) => (
          <li key={s.id}>
            <button type="button" className="link" onClick={() => onAdd("search", s.id)}>
              {s.attributes.title}
            </button>
            <span className="muted small">saved search</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
