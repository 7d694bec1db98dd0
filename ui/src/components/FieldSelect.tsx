import type { FieldInfo } from "../lib/suggest";

interface Props {
  label: string;
  value: string;
  fields: FieldInfo[];
  onChange: (v: string) => void;
  /** Offer "none" as the first choice. */
  optional?: boolean;
}

/** A choice among the fields that can be aggregated, those present in events first. */
export function FieldSelect({ label, value, fields, onChange, optional }: Props) {
  const usable = fields.filter((f) => f.aggregatable && f.count > 0);
  const known = usable.some((f) => f.name === value);
  return (
    <label>
      {label}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {optional && <option value="">(none)</option>}
        {!known && value !== "" && <option value={value}>{value}</option>}
        {usable.map((f) => (
          <option key={f.name} value={f.name}>
            {f.name}
          </option>
        ))}
      </select>
    </label>
  );
}
