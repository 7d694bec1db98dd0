import { useState } from "react";
import { describeRange, QUICK_RANGES, resolveRange, type TimeRange } from "../lib/time";

const REFRESH_CHOICES = [
  { label: "Off", secs: 0 },
  { label: "10 seconds", secs: 10 },
  { label: "30 seconds", secs: 30 },
  { label: "1 minute", secs: 60 },
  { label: "5 minutes", secs: 300 },
];

interface Props {
  range: TimeRange;
  onChange: (r: TimeRange) => void;
  /** Auto-refresh period in seconds and its setter; without them, no auto-refresh choice. */
  refresh?: number;
  onRefreshChange?: (secs: number) => void;
}

/** Quick ranges, an absolute (or date-math) range, and auto-refresh. */
export function TimePicker({ range, refresh, onChange, onRefreshChange }: Props) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  const [error, setError] = useState<string | null>(null);

  function toggle() {
    setFrom(range.from);
    setTo(range.to);
    setError(null);
    setOpen(!open);
  }

  function applyAbsolute(e: React.FormEvent) {
    e.preventDefault();
    const r = resolveRange({ from, to }, Date.now());
    if (r instanceof Error) {
      setError(r.message);
      return;
    }
    setOpen(false);
    onChange({ from: from.trim(), to: to.trim() });
  }

  return (
    <div className="timepicker">
      <button type="button" aria-haspopup="dialog" aria-expanded={open} onClick={toggle} aria-label={`Time range: ${describeRange(range)}`}>
        {describeRange(range)}
      </button>
      {onRefreshChange && (
        <select aria-label="Auto-refresh" value={refresh ?? 0} onChange={(e) => onRefreshChange(Number(e.target.value))}>
          {REFRESH_CHOICES.map((c) => (
            <option key={c.secs} value={c.secs}>
              {c.secs === 0 ? "Auto-refresh off" : `Every ${c.label}`}
            </option>
          ))}
        </select>
      )}
      {open && (
        <div className="popover" role="dialog" aria-label="Time range">
          <div className="quick">
            <h4>Commonly used</h4>
            {QUICK_RANGES.map((q) => (
              <button
                type="button"
                key={q.label}
                className="link"
                onClick={() => {
                  setOpen(false);
                  onChange({ from: q.from, to: q.to });
                }}
              >
                {q.label}
              </button>
            ))}
          </div>
          <form className="absolute" onSubmit={applyAbsolute}>
            <h4>Absolute or relative</h4>
            <label>
              Start
              <input aria-label="Start" value={from} onChange={(e) => setFrom(e.target.value)} placeholder="2026-11-01T00:00:00Z or now-7d" />
            </label>
            <label>
              End
              <input aria-label="End" value={to} onChange={(e) => setTo(e.target.value)} placeholder="now" />
            </label>
            {error && <p className="error">{error}</p>}
            <button type="submit" className="primary">
              Apply
            </button>
          </form>
        </div>
      )}
    </div>
  );
}
