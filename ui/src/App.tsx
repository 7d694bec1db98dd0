import { useEffect, useState } from "react";
import { onUnauthorized } from "./lib/api";
import { Login } from "./pages/Login";
import { Discover } from "./pages/Discover";
import { Visualize } from "./pages/Visualize";
import { Dashboards } from "./pages/Dashboards";
import { Apps } from "./pages/Apps";
import { navigate, useLocation } from "./router";

const PAGES = [
  { path: "/discover", label: "Discover" },
  { path: "/visualize", label: "Visualize" },
  { path: "/dashboards", label: "Dashboards" },
  { path: "/apps", label: "Apps" },
];

export function App() {
  const { path, search } = useLocation();
  const [needLogin, setNeedLogin] = useState(false);
  useEffect(() => onUnauthorized(() => setNeedLogin(true)), []);
  useEffect(() => {
    if (path === "/" || path === "/index.html") navigate("/discover" + search, true);
  }, [path, search]);

  if (needLogin) return <Login onDone={() => setNeedLogin(false)} />;
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="/discover" onClick={(e) => { e.preventDefault(); navigate("/discover"); }}>
          trailscope
        </a>
        <nav>
          {PAGES.map((p) => (
            <a
              key={p.path}
              href={p.path}
              className={path.startsWith(p.path) ? "active" : ""}
              onClick={(e) => {
                e.preventDefault();
                navigate(p.path);
              }}
            >
              {p.label}
            </a>
          ))}
        </nav>
      </header>
      <main>{page(path, search)}</main>
    </div>
  );
}

function page(path: string, search: string) {
  if (path.startsWith("/discover")) return <Discover search={search} />;
  if (path.startsWith("/visualize")) return <Visualize path={path} search={search} />;
  if (path.startsWith("/dashboards")) return <Dashboards path={path} search={search} />;
  if (path.startsWith("/apps")) return <Apps />;
  return <NotFound path={path} />;
}

function NotFound({ path }: { path: string }) {
  return (
    <div className="empty">
      <h2>No page at {path}</h2>
      <p>
        Go to <a href="/discover">Discover</a>.
      </p>
    </div>
  );
}
