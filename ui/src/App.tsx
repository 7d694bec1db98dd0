import { useEffect, useState } from "react";
import { onUnauthorized } from "./lib/api";
import { Login } from "./pages/Login";
import { Discover } from "./pages/Discover";
import { navigate, useLocation } from "./router";

const PAGES = [{ path: "/discover", label: "Discover" }];

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
      <main>{path.startsWith("/discover") ? <Discover search={search} /> : <NotFound path={path} />}</main>
    </div>
  );
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
