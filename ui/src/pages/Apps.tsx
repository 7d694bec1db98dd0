import { useEffect, useState } from "react";
import type { AppDef } from "../apps/build";
import { APPS } from "../apps/catalog";
import { ApiError, errorText, saved, type SavedObject } from "../lib/api";
import { importObjects } from "../lib/savedObjects";
import { navigate } from "../router";

/** What is kept about an installed app: its version and the objects it created. */
interface Installed {
  title: string;
  version: number;
  dashboard: string;
  objects: string[];
}

async function install(a: AppDef): Promise<void> {
  await importObjects(a.objects);
  await saved.update<Installed>("app", a.id, { title: a.title, version: a.version, dashboard: a.dashboard, objects: a.objects.map((o) => `${o.type}/${o.id}`) });
}

async function uninstall(a: SavedObject<Installed>): Promise<void> {
  for (const ref of a.attributes.objects) {
    const [type, id] = ref.split("/") as [string, string];
    try {
      await saved.remove(type, id);
    } catch (e) {
      // Already deleted by hand: nothing left to remove.
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
  await saved.remove("app", a.id);
}

/** `/apps`: the library of prebuilt dashboards, installed in one click. */
export function Apps() {
  const [installed, setInstalled] = useState<Map<string, SavedObject<Installed>> | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    saved
      .list<Installed>("app")
      .then((r) => setInstalled(new Map(r.objects.map((o) => [o.id, o]))))
      .catch((e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, []);
  const run = async (id: string, f: () => Promise<void>) => {
    setBusy(id);
    try {
      await f();
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
      await load();
    }
  };
  return (
    <div className="page">
      <h2>Apps</h2>
      <p className="muted">Prebuilt dashboards and visualizations for CloudTrail. Installing adds them to Visualize and Dashboards, where they can be changed like any other.</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="appgrid">
        {APPS.map((a) => {
          const have = installed?.get(a.id);
          const outdated = have && have.attributes.version < a.version;
          const panels = a.objects.length - 1;
          return (
            <section key={a.id} className="panel appcard" aria-label={a.title} data-app={a.id}>
              <h3>{a.title}</h3>
              <p className="small">{a.description}</p>
              <p className="muted small">
                Version {a.version} · {panels} panels{have ? ` · installed version ${have.attributes.version}` : ""}
              </p>
              <div className="row">
                {!have && (
                  <button type="button" className="primary" disabled={busy !== null} onClick={() => void run(a.id, () => install(a))}>
                    {busy === a.id ? "Installing…" : "Install"}
                  </button>
                )}
                {outdated && (
                  <button type="button" className="primary" disabled={busy !== null} onClick={() => void run(a.id, () => install(a))}>
                    Update to version {a.version}
                  </button>
                )}
                {have && (
                  <>
                    <button type="button" className={outdated ? "" : "primary"} onClick={() => navigate(`/dashboards/view/${have.attributes.dashboard}`)}>
                      Open dashboard
                    </button>
                    <button
                      type="button"
                      className="danger"
                      disabled={busy !== null}
                      onClick={() => {
                        if (window.confirm(`Uninstall ${a.title}? Its dashboard and visualizations are deleted.`)) void run(a.id, () => uninstall(have));
                      }}
                    >
                      Uninstall
                    </button>
                  </>
                )}
              </div>
            </section>
          );
        })}
      </div>
    </div>
  );
}
