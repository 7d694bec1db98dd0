// The e2e scenarios, in the order a user meets them. Each is `async (page, config) => {}` and
// throws to fail; `run.mjs` runs them.

const TIMEOUT = 15_000;
const TITLE = "ECS calls";

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Polls `read` until `check` holds for its value; fails with the last value seen. */
async function until(read, check, what) {
  const deadline = Date.now() + TIMEOUT;
  let last;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const hitCount = async (page) => {
  const t = await page.locator('[data-testid="hit-count"] b').textContent({ timeout: TIMEOUT });
  return Number((t ?? "").replace(/[^0-9]/g, ""));
};
const headers = (page) => page.locator(".doctable thead th[data-column]").evaluateAll((ths) => ths.map((t) => t.dataset.column));
const discover = (config, params = "") => `${config.base}/discover?from=${encodeURIComponent(config.from)}&to=${encodeURIComponent(config.to)}${params}`;
const param = (page, name) => new URL(page.url()).searchParams.get(name);

export const tests = {
  /** The seed's query, typed with autocompletion; the count matches the table's. */
  async "discover-seed-query"(page, config) {
    await page.goto(discover(config));
    const all = await until(() => hitCount(page), (n) => n > 0, "the first hits");
    const bar = page.getByRole("combobox", { name: "Search" });
    await bar.click();
    await bar.pressSequentially("eventso");
    const first = page.locator("#query-suggestions").getByRole("option").first();
    await first.waitFor({ timeout: TIMEOUT });
    assert((await first.textContent())?.endsWith(" eventSource"), `first suggestion: ${await first.textContent()}`);
    await bar.press("Tab");
    assert((await bar.inputValue()) === "eventSource:", `autocomplete gave '${await bar.inputValue()}'`);
    await bar.pressSequentially("ecs.amazonaws.com");
    await bar.press("Enter");
    await until(() => hitCount(page), (n) => n === config.ecsCount, `${config.ecsCount} ECS hits (all: ${all})`);
    assert(param(page, "q") === "eventSource:ecs.amazonaws.com", `URL q=${param(page, "q")}`);
    const rows = await page.locator(".doctable tbody tr.doc").count();
    assert(rows === Math.min(100, config.ecsCount), `${rows} rows shown`);
    const sources = await page.locator(".doctable tbody tr.doc td:nth-child(4)").allTextContents();
    assert(sources.every((s) => s === "ecs.amazonaws.com"), `eventSource column: ${[...new Set(sources)]}`);
  },

  /** Columns: remove the defaults, add eventName and eventSource from the sidebar, move one. */
  async "discover-columns"(page, config) {
    await page.goto(discover(config, "&q=eventSource:ecs.amazonaws.com"));
    await until(() => hitCount(page), (n) => n === config.ecsCount, "ECS hits");
    for (const c of ["eventName", "eventSource"]) {
      await page.getByRole("button", { name: `Remove column ${c}` }).first().click();
    }
    await until(() => headers(page), (h) => !h.includes("eventName") && !h.includes("eventSource"), "columns removed");
    await page.getByRole("textbox", { name: "Filter field names" }).fill("event");
    for (const c of ["eventName", "eventSource"]) {
      await page.locator(`.sidebar li[data-field="${c}"]`).hover();
      await page.getByRole("button", { name: `Add column ${c}`, exact: true }).click();
    }
    let h = await until(() => headers(page), (h) => h.at(-2) === "eventName" && h.at(-1) === "eventSource", "columns added at the end");
    await page.locator('th[data-column="eventSource"]').hover();
    await page.getByRole("button", { name: "Move eventSource left" }).click();
    h = await until(() => headers(page), (h) => h.at(-2) === "eventSource", "eventSource moved left");
    assert(param(page, "cols") === h.join(","), `URL cols=${param(page, "cols")} vs ${h}`);
    // The view survives a reload: it is all in the URL.
    await page.reload();
    await until(() => headers(page), (x) => x.join(",") === h.join(","), "the same columns after reload");
  },

  /** One event as a field table and as JSON, with the matched term highlighted. */
  async "discover-event-json"(page, config) {
    await page.goto(discover(config, "&q=eventSource:ecs.amazonaws.com"));
    await until(() => hitCount(page), (n) => n === config.ecsCount, "ECS hits");
    await page.getByRole("button", { name: "Expand event" }).first().click();
    const table = page.locator(".fieldtable");
    await table.waitFor({ timeout: TIMEOUT });
    const fields = await table.locator("th").allTextContents();
    for (const f of ["eventTime", "eventSource", "eventName", "userIdentity.type"]) {
      assert(fields.includes(f), `field table lacks ${f}: ${fields.slice(0, 12)}`);
    }
    await page.getByRole("tab", { name: "JSON" }).click();
    const json = page.getByLabel("Event JSON");
    const text = await json.textContent();
    const doc = JSON.parse(text ?? "");
    assert(doc.eventSource === "ecs.amazonaws.com", `JSON eventSource=${doc.eventSource}`);
    assert(typeof doc.eventID === "string" && doc.eventID.length > 0, "JSON has an eventID");
    const marks = await json.locator("mark").allTextContents();
    assert(marks.some((m) => m.toLowerCase() === "ecs.amazonaws.com"), `highlighted: ${marks}`);
  },

  /** Syntax errors point at the column; unknown fields suggest names. */
  async "discover-query-errors"(page, config) {
    await page.goto(discover(config));
    await until(() => hitCount(page), (n) => n > 0, "hits");
    const bar = page.getByRole("combobox", { name: "Search" });
    await bar.fill("eventsource:(ecs");
    await bar.press("Enter");
    const alert = page.locator(".query-error");
    const msg = await until(() => alert.textContent(), (t) => (t ?? "").includes("expected ')'"), "the syntax error");
    const caret = await alert.locator(".caret").textContent();
    assert(caret?.split("\n")[1] === " ".repeat(16) + "^", `caret line: ${JSON.stringify(caret)} (${msg})`);
    assert((await bar.getAttribute("aria-invalid")) === "true", "the bar is marked invalid");
    await bar.fill("eventsorce:ecs");
    await bar.press("Escape");
    await bar.press("Enter");
    await until(() => alert.textContent(), (t) => (t ?? "").includes("did you mean eventSource"), "a suggestion");
  },

  /** Top 5 values of a field, ＋ and − as pills, inverting and removing a pill. */
  async "discover-field-filters"(page, config) {
    await page.goto(discover(config));
    const all = await until(() => hitCount(page), (n) => n > 0, "hits");
    await page.locator('.sidebar li[data-field="eventName"] .fieldname').first().click();
    const values = page.locator('.sidebar li[data-field="eventName"] .topvalues li[data-value]');
    await until(() => values.count(), (n) => n === 5, "5 top values");
    const first = values.first();
    const value = await first.getAttribute("data-value");
    const count = Number(await first.getAttribute("data-count"));
    await first.getByRole("button", { name: `Filter for eventName: ${value}` }).click();
    await until(() => hitCount(page), (n) => n === count, `${count} hits for eventName ${value}`);
    const pill = page.locator(".pills .pill");
    assert((await pill.count()) === 1, "one pill");
    assert(param(page, "f") === `+eventName:${value}`, `URL f=${param(page, "f")}`);
    await pill.getByRole("button", { name: /eventName/ }).first().click();
    await until(() => hitCount(page), (n) => n === all - count, `${all - count} hits without ${value}`);
    assert((await page.locator(".pills .pill.negate").count()) === 1, "the pill is inverted");
    await page.getByRole("button", { name: /Remove filter/ }).click();
    await until(() => hitCount(page), (n) => n === all, "all hits again");
  },

  /** Dragging across the histogram selects an absolute range with fewer hits. */
  async "discover-histogram-brush"(page, config) {
    await page.goto(`${config.base}/discover?from=now-30d&to=now`);
    const all = await until(() => hitCount(page), (n) => n > 0, "hits in the last 30 days");
    const box = await page.locator(".histogram").boundingBox();
    assert(box, "histogram drawn");
    await page.waitForTimeout(300);
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.55, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, y, { steps: 8 });
    await page.mouse.move(box.x + box.width * 0.85, y, { steps: 8 });
    await page.mouse.up();
    await until(() => param(page, "from"), (f) => f !== null && f.startsWith("20"), "an absolute start in the URL");
    const from = Date.parse(param(page, "from"));
    const to = Date.parse(param(page, "to"));
    assert(to > from && to - from < 30 * 86_400_000 * 0.5, `selected ${param(page, "from")} → ${param(page, "to")}`);
    const some = await until(() => hitCount(page), (n) => n < all, "fewer hits");
    assert(some > 0, "the selected range has hits");
  },

  /** Quick ranges from the time picker, and infinite scroll past the first 100 hits. */
  async "discover-time-and-scroll"(page, config) {
    await page.goto(discover(config));
    await until(() => hitCount(page), (n) => n > 0, "hits");
    await page.getByRole("button", { name: /^Time range/ }).click();
    await page.getByRole("button", { name: "Last 7 days" }).click();
    await until(() => param(page, "from"), (f) => f === "now-7d", "from=now-7d");
    const week = await until(() => hitCount(page), (n) => n > 0, "hits in the last 7 days");
    assert((await page.getByRole("button", { name: /^Time range/ }).textContent())?.includes("Last 7 days"), "picker shows Last 7 days");
    assert(week > 200, `only ${week} hits in the last 7 days; the demo data should have more`);
    await page.locator(".more").scrollIntoViewIfNeeded();
    await until(() => page.locator(".doctable tbody tr.doc").count(), (n) => n >= 200, "a second page of rows");
    const ids = await page.locator(".doctable tbody tr.doc").count();
    assert(ids <= week, `${ids} rows for ${week} hits`);
  },

  /** Save, open, rename and delete a saved search. */
  async "discover-saved-searches"(page, config) {
    await page.goto(discover(config, "&q=eventSource:ecs.amazonaws.com&cols=eventName,sourceIPAddress"));
    await until(() => hitCount(page), (n) => n === config.ecsCount, "ECS hits");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("dialog", { name: "Save search" }).getByLabel("Title").fill(TITLE);
    await page.getByRole("dialog", { name: "Save search" }).getByRole("button", { name: "Save" }).click();
    await until(() => param(page, "id"), (id) => id !== null, "the saved id in the URL");
    await page.getByRole("button", { name: "New", exact: true }).click();
    await until(() => page.getByRole("combobox", { name: "Search" }).inputValue(), (v) => v === "", "an empty query");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Open search" });
    await dialog.getByRole("button", { name: TITLE, exact: true }).click();
    await until(() => page.getByRole("combobox", { name: "Search" }).inputValue(), (v) => v === "eventSource:ecs.amazonaws.com", "the saved query");
    await until(() => headers(page), (h) => h.join(",") === "eventName,sourceIPAddress", "the saved columns");
    await until(() => hitCount(page), (n) => n === config.ecsCount, "ECS hits again");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await dialog.getByRole("button", { name: "rename", exact: true }).click();
    await dialog.getByLabel("New title").fill("ECS API calls");
    await dialog.getByRole("button", { name: "Rename", exact: true }).click();
    await dialog.getByRole("button", { name: "ECS API calls" }).waitFor({ timeout: TIMEOUT });
    page.once("dialog", (d) => d.accept());
    await dialog.getByRole("button", { name: "delete" }).click();
    await dialog.getByText("No saved searches yet").waitFor({ timeout: TIMEOUT });
  },

  /** With authentication configured, the UI asks for a token and then works. */
  async "login"(page, config) {
    await page.goto(discover({ ...config, base: config.authBase }));
    const form = page.getByRole("form", { name: "Log in" });
    await form.waitFor({ timeout: TIMEOUT });
    await form.getByRole("button", { name: "API token" }).click();
    await form.getByLabel("Token").fill("wrong-token-wrong-token");
    await form.getByRole("button", { name: "Log in" }).click();
    await until(() => form.getByRole("alert").textContent(), (t) => (t ?? "").includes("not valid"), "a refusal");
    await form.getByLabel("Token").fill(config.token);
    await form.getByRole("button", { name: "Log in" }).click();
    await until(() => hitCount(page), (n) => n > 0, "hits after logging in");
  },
};
