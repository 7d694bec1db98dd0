import { useState } from "react";
import { errorText, request, setAuth } from "../lib/api";

/** Shown when the server asks for credentials: an API token, or a user and password. */
export function Login({ onDone }: { onDone: () => void }) {
  const [mode, setMode] = useState<"password" | "token">("password");
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const header = mode === "token" ? `Bearer ${token.trim()}` : `Basic ${base64(`${user}:${password}`)}`;
    setAuth(header);
    try {
      await request("GET", "/api/fields");
      setError(null);
      onDone();
    } catch (err) {
      setAuth(null);
      setError(errorText(err));
    }
  }

  return (
    <div className="login">
      <form onSubmit={submit} aria-label="Log in">
        <h1>trailscope</h1>
        <div className="tabs">
          <button type="button" className={mode === "password" ? "active" : ""} onClick={() => setMode("password")}>
            User and password
          </button>
          <button type="button" className={mode === "token" ? "active" : ""} onClick={() => setMode("token")}>
            API token
          </button>
        </div>
        {mode === "password" ? (
          <>
            <label>
              User
              <input autoFocus value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" />
            </label>
            <label>
              Password
              <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
            </label>
          </>
        ) : (
          <label>
            Token
            <input autoFocus type="password" value={token} onChange={(e) => setToken(e.target.value)} />
          </label>
        )}
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary">
          Log in
        </button>
      </form>
    </div>
  );
}

function base64(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s)));
}
