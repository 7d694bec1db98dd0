import { useMemo, useRef, useState } from "react";
import { applySuggestion, errorColumn, fieldTokenAt, suggestFields, type FieldInfo } from "../lib/suggest";

interface Props {
  value: string;
  fields: FieldInfo[];
  /** The server's syntax or field error for the submitted query, shown under the bar. */
  error: string | null;
  onSubmit: (query: string) => void;
}

/** The query bar: our language, with field-name completion (↑ ↓ Tab/Enter Esc) and inline errors. */
export function QueryBar({ value, fields, error, onSubmit }: Props) {
  const [text, setText] = useState(value);
  const [cursor, setCursor] = useState(value.length);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [submitted, setSubmitted] = useState(value);
  const input = useRef<HTMLInputElement>(null);
  // A new value from outside (opening a saved search, the back button) replaces the text.
  const [outside, setOutside] = useState(value);
  if (outside !== value) {
    setOutside(value);
    setText(value);
    setSubmitted(value);
  }

  const token = fieldTokenAt(text, cursor);
  const suggestions = useMemo(() => (token ? suggestFields(fields, token.text) : []), [fields, token?.text]);
  const showList = open && suggestions.length > 0;

  function choose(f: FieldInfo) {
    if (!token) return;
    const next = applySuggestion(text, token, f.name);
    setText(next.query);
    setCursor(next.cursor);
    setOpen(false);
    requestAnimationFrame(() => {
      input.current?.focus();
      input.current?.setSelectionRange(next.cursor, next.cursor);
    });
  }

  function submit() {
    setOpen(false);
    setSubmitted(text);
    onSubmit(text);
  }

  function onKeyDown(e: React.KeyboardEvent<HTMLInputElement>) {
    if (showList && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      const n = suggestions.length;
      setActive((a) => (a < 0 ? (e.key === "ArrowDown" ? 0 : n - 1) : (a + (e.key === "ArrowDown" ? 1 : n - 1)) % n));
    } else if (showList && (e.key === "Tab" || (e.key === "Enter" && active >= 0))) {
      // Tab takes the highlighted (or first) field; Enter only one chosen with the arrows, so
      // Enter after a free-text word still searches.
      const f = suggestions[Math.min(Math.max(active, 0), suggestions.length - 1)];
      if (f) {
        e.preventDefault();
        choose(f);
      }
    } else if (e.key === "Escape") {
      setOpen(false);
    } else if (e.key === "Enter") {
      e.preventDefault();
      submit();
    }
  }

  // The error belongs to the submitted text; once the user edits, the caret would point wrong.
  const col = error && text === submitted ? errorColumn(error) : undefined;
  return (
    <div className="querybar">
      <div className="querybar-row">
        <input
          ref={input}
          role="combobox"
          aria-label="Search"
          aria-expanded={showList}
          aria-controls="query-suggestions"
          aria-invalid={error !== null}
          className={error ? "invalid" : ""}
          placeholder="Search… e.g. eventSource:ecs.amazonaws.com and not errorCode:*"
          value={text}
          spellCheck={false}
          onChange={(e) => {
            setText(e.target.value);
            setCursor(e.target.selectionStart ?? e.target.value.length);
            setOpen(true);
            setActive(-1);
          }}
          onSelect={(e) => setCursor(e.currentTarget.selectionStart ?? 0)}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
        />
        <button type="button" className="primary" onClick={submit}>
          Refresh
        </button>
      </div>
      {showList && (
        <ul id="query-suggestions" role="listbox" className="suggestions">
          {suggestions.map((f, i) => (
            <li
              key={f.name}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(f);
              }}
            >
              <span className={`ftype ftype-${f.type}`}>{f.type}</span> {f.name}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <div className="query-error" role="alert">
          {col !== undefined && (
            <pre className="caret" aria-hidden="true">
              {submitted}
              {"\n"}
              {" ".repeat(Math.max(0, col - 1))}^
            </pre>
          )}
          <span>{error}</span>
        </div>
      )}
    </div>
  );
}
