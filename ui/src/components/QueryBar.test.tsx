// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FieldInfo } from "../lib/suggest";
import { QueryBar } from "./QueryBar";

const f = (name: string, count = 1): FieldInfo => ({ name, type: "keyword", count, aggregatable: true, searchable: true, json_path: false });
const FIELDS = [f("eventSource", 10), f("eventName", 20), f("errorCode", 5)];

afterEach(cleanup);

function setup(value = "", error: string | null = null) {
  const onSubmit = vi.fn();
  render(<QueryBar value={value} fields={FIELDS} error={error} onSubmit={onSubmit} />);
  const input = screen.getByRole("combobox", { name: "Search" }) as HTMLInputElement;
  const type = (text: string) => {
    fireEvent.change(input, { target: { value: text, selectionStart: text.length } });
  };
  return { input, type, onSubmit };
}

describe("QueryBar", () => {
  it("completes a field with Tab and keeps typing after the colon", () => {
    const { input, type } = setup();
    type("eventso");
    const options = screen.getAllByRole("option");
    expect(options.map((o) => o.textContent)).toEqual(["keyword eventSource"]);
    fireEvent.keyDown(input, { key: "Tab" });
    expect(input.value).toBe("eventSource:");
    expect(screen.queryByRole("listbox")).toBeNull();
  });

  it("moves through suggestions with the arrows and takes one with Enter", () => {
    const { input, type, onSubmit } = setup();
    type("e");
    expect(screen.getAllByRole("option").map((o) => o.textContent)).toEqual(["keyword eventName", "keyword eventSource", "keyword errorCode"]);
    fireEvent.keyDown(input, { key: "ArrowDown" });
    fireEvent.keyDown(input, { key: "ArrowDown" });
    expect(screen.getAllByRole("option")[1]?.getAttribute("aria-selected")).toBe("true");
    fireEvent.keyDown(input, { key: "Enter" });
    expect(input.value).toBe("eventSource:");
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it("searches on Enter when no suggestion was chosen, even with the list open", () => {
    const { input, type, onSubmit } = setup();
    type("error");
    expect(screen.getByRole("listbox")).toBeTruthy();
    fireEvent.keyDown(input, { key: "Enter" });
    expect(onSubmit).toHaveBeenCalledWith("error");
  });

  it("closes the list with Escape", () => {
    const { input, type } = setup();
    type("event");
    fireEvent.keyDown(input, { key: "Escape" });
    expect(screen.queryByRole("listbox")).toBeNull();
  });

  it("shows the server's syntax error with a caret under the column", () => {
    setup("eventsource:(ecs", "cannot parse query [eventsource:(ecs]: expected ')' to close '(' opened at column 13 at column 17");
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("expected ')'");
    expect(alert.querySelector(".caret")?.textContent).toBe(`eventsource:(ecs\n${" ".repeat(16)}^`);
    expect(screen.getByRole("combobox", { name: "Search" }).getAttribute("aria-invalid")).toBe("true");
  });
});
