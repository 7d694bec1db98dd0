import { useEffect, useState } from "react";
import { errorText, saved, type SavedObject } from "../lib/api";
import type { DiscoverState } from "../lib/discoverState";
import type { SearchAttributes } from "../lib/savedObjects";

export function searchAttributes(title: string, s: DiscoverState): SearchAttributes {
  return { title, query: s.query, filters: s.filters, columns: s.columns, sort: s.sort };
}

interface Props {
  state: DiscoverState;
  current: SavedObject<SearchAttributes> | null;
  onSaved: (o: SavedObject<SearchAttributes>) => void;
  onOpen: (o: SavedObject<SearchAttributes>) => void;
  onNew: () => void;
}

/** New / Save / Open: saved searches, with rename and delete in the list. */
export function SavedSearches({ state, current, onSaved, onOpen, onNew }: Props) {
  const [panel, setPanel] = useState<"save" | "open" | null>(null);
  return (
    <div className="saved">
      <button type="button" onClick={onNew}>
        New
      </button>
      <button type="button" onClick={() => setPanel(panel === "save" ? null : "save")}>
        Save
      </button>
      <button type="button" onClick={() => setPanel(panel === "open" ? null : "open")}>
        Open
      </button>
      {current && <span className="savedtitle" title="The saved search this view came from">{current.attributes.title}</span>}
      {panel === "save" && <SavePanel state={state} current={current} onDone={(o) => { setPanel(null); if (o) onSaved(o); }} />}
      {panel === "open" && <OpenPanel onOpen={(o) => { setPanel(null); onOpen(o); }} onClose={() => setPanel(null)} />}
    </div>
  );
}

function SavePanel({ state, current, onDone }: { state: DiscoverState; current: SavedObject<SearchAttributes> | null; onDone: (o: SavedObject<SearchAttributes> | null) => void }) {
  const [title, setTitle] = useState(current?.attributes.title ?? "");
  const [asNew, setAsNew] = useState(current === null);
  const [error, setError] = useState<string | null>(null);
  async function submit(e: React.FormEvent) {
    e.preventDefault();
    try {
      const attrs = searchAttributes(title.trim(), state);
      const o = current && !asNew ? await saved.update("search", current.id, attrs, current.version) : await saved.create("search", attrs);
      onDone(o);
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <form className="popover" role="dialog" aria-label="Save search" onSubmit={submit}>
      <label>
        Title
        <input autoFocus aria-label="Title" value={title} onChange={(e) => setTitle(e.target.value)} required />
      </label>
      {current && (
        <label className="small">
          <input type="checkbox" checked={asNew} onChange={(e) => setAsNew(e.target.checked)} /> save as a new search
        </label>
      )}
      {error && <p className="error">{error}</p>}
      <div className="row">
        <button type="submit" className="primary" disabled={title.trim() === ""}>
          Save
        </button>
        <button type="button" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function OpenPanel({ onOpen, onClose }: { onOpen: (o: SavedObject<SearchAttributes>) => void; onClose: () => void }) {
  const [list, setList] = useState<Array<SavedObject<SearchAttributes>> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [newTitle, setNewTitle] = useState("");
  const load = () =>
    saved
      .list<SearchAttributes>("search")
      .then((r) => setList(r.objects))
      .catch((e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, []);
  async function act(f: () => Promise<unknown>) {
    try {
      await f();
      setError(null);
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <div className="popover wide" role="dialog" aria-label="Open search">
      <div className="row spread">
        <h4>Saved searches</h4>
        <button type="button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      {error && <p className="error">{error}</p>}
      {list === null && !error && <p className="muted">Loading…</p>}
      {list?.length === 0 && <p className="muted">No saved searches yet: use Save.</p>}
      <ul className="savedlist">
        {list?.map((o) => (
          <li key={o.id}>
            {renaming === o.id ? (
              <form
                className="row"
                onSubmit={(e) => {
                  e.preventDefault();
                  void act(() => saved.update("search", o.id, { ...o.attributes, title: newTitle.trim() }, o.version)).then(() => setRenaming(null));
                }}
              >
                <input autoFocus aria-label="New title" value={newTitle} onChange={(e) => setNewTitle(e.target.value)} />
                <button type="submit" disabled={newTitle.trim() === ""}>
                  Rename
                </button>
              </form>
            ) : (
              <button type="button" className="link" onClick={() => onOpen(o)}>
                {o.attributes.title}
              </button>
            )}
            <span className="muted small">{o.attributes.query || "(all events)"}</span>
            <button type="button" className="small" onClick={() => { setRenaming(o.id); setNewTitle(o.attributes.title); }}>
              rename
            </button>
            <button
              type="button"
              className="small danger"
              onClick={() => {
                if (window.confirm(`Delete the saved search "${o.attributes.title}"?`)) void act(() => saved.remove("search", o.id));
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
