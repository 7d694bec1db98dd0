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

const VIS = {
  table: "Top source IPs",
  pie: "Source IPs share",
  line: "ECS calls over time",
  bar: "Calls by service",
  metric: "Unique callers",
  map: "Map of callers",
  countries: "Calls by country",
};

/** The preview (or a panel) finished drawing something, not an error or an empty state. */
async function drawn(scope, kind) {
  const vis = scope.locator(`.vis[data-state="done"]${kind ? `[data-kind="${kind}"]` : ""}`);
  await until(
    async () => {
      const states = await scope.locator("[data-state]").evaluateAll((els) => els.map((e) => e.getAttribute("data-state")));
      return states;
    },
    (s) => s.includes("done") || s.includes("error") || s.includes("empty"),
    "the chart to finish",
  );
  const errors = await scope.locator('[data-state="error"], [data-state="empty"]').allTextContents();
  assert(errors.length === 0, `not drawn: ${errors}`);
  assert((await vis.count()) > 0, `no ${kind ?? ""} chart drawn`);
  return vis.first();
}

async function createVis(page, config, type, title, configure) {
  await page.goto(`${config.base}/visualize?from=${encodeURIComponent(config.from)}&to=${encodeURIComponent(config.to)}`);
  await page.getByRole("button", { name: new RegExp(`^Create ${type}$`) }).click();
  const form = page.getByRole("form", { name: "Visualization settings" });
  await form.getByLabel("Title").fill(title);
  if (configure) await configure(form, page);
  const preview = page.getByRole("region", { name: "Preview" });
  await drawn(preview);
  await form.getByRole("button", { name: "Save" }).click();
  await until(() => page.getByRole("status").textContent(), (t) => (t ?? "").startsWith("Saved"), `"${title}" saved`);
  assert(/\/visualize\/edit\/[A-Za-z0-9_-]+/.test(page.url()), `editing the saved one: ${page.url()}`);
  // The saved visualization is opened afresh from the server and drawn again.
  return { preview, vis: await drawn(preview) };
}

Object.assign(tests, {
  /** Every visualization type, built in the editor, drawn from the demo data, and saved. */
  async "visualize-each-type"(page, config) {
    const { vis: table } = await createVis(page, config, "Data table", VIS.table);
    const rows = await table.locator("tbody tr:not(.muted)").evaluateAll((trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
    const want = config.topIps.map((r) => [r.key, r.n.toLocaleString("en-US")]);
    assert(JSON.stringify(rows) === JSON.stringify(want), `table rows ${JSON.stringify(rows)} vs SQL ${JSON.stringify(want)}`);

    const { vis: pie } = await createVis(page, config, "Pie", VIS.pie);
    assert((await pie.locator("canvas").count()) === 1, "a pie canvas");

    await createVis(page, config, "Line", VIS.line, async (form) => {
      const bar = form.getByRole("combobox", { name: "Search" });
      await bar.fill("eventSource:ecs.amazonaws.com");
      await bar.press("Enter");
    });
    await createVis(page, config, "Vertical bar", VIS.bar, async (form) => {
      await form.getByLabel("Split series").selectOption("eventSource");
    });
    const { vis: metric } = await createVis(page, config, "Metric", VIS.metric, async (form) => {
      await form.getByLabel("Metric").selectOption("cardinality");
      await form.getByLabel("Of field").selectOption("sourceIPAddress");
    });
    const unique = Number(await metric.locator(".metric-value").getAttribute("data-value"));
    assert(unique > 5, `unique source IPs: ${unique}`);
    await createVis(page, config, "Coordinate map", VIS.map);
    await page.screenshot({ path: `${config.shots}/map.png` });
    await createVis(page, config, "Coordinate map", VIS.countries, async (form) => {
      await form.getByLabel("Map mode").selectOption("countries");
    });

    await page.goto(`${config.base}/visualize`);
    await until(() => page.locator(".objlist li a").allTextContents(), (l) => Object.values(VIS).every((t) => l.includes(t)), "every visualization listed");
  },

  /** A dashboard: add panels, click to filter, move and resize, save, reload, export, delete, import. */
  async "dashboard-build-export-import"(page, config) {
    // A saved search to show as a panel, made through the API as a script would.
    const r = await page.request.put(`${config.base}/api/saved-objects/search/recent-ecs-calls`, {
      data: { attributes: { title: "Recent ECS calls", query: "eventSource:ecs.amazonaws.com", filters: [], columns: ["eventName", "sourceIPAddress"], sort: "desc" } },
    });
    assert(r.status() === 200, `saved search: ${r.status()}`);
    // A cross-site form can only send text/plain: the server takes saved objects as JSON only.
    const form = await page.request.post(`${config.base}/api/saved-objects/search`, { headers: { "content-type": "text/plain" }, data: '{"attributes":{"title":"x"}}' });
    assert(form.status() === 415, `a text/plain write: ${form.status()}`);
    await page.goto(`${config.base}/dashboards`);
    await page.getByLabel("New dashboard title").fill("ECS overview");
    await page.getByRole("button", { name: "Create dashboard" }).click();
    await page.waitForURL(/\/dashboards\/view\//);
    const id = page.url().match(/view\/([A-Za-z0-9_-]+)/)[1];
    await page.goto(`${page.url().split("?")[0]}?from=${encodeURIComponent(config.from)}&to=${encodeURIComponent(config.to)}`);
    await page.getByRole("button", { name: "Add panel" }).click();
    const add = page.getByRole("dialog", { name: "Add panels" });
    for (const t of [VIS.table, VIS.pie, VIS.map, VIS.line, "Recent ECS calls"]) await add.getByRole("button", { name: t, exact: true }).click();
    await add.getByRole("button", { name: "Close" }).click();
    const panels = page.locator(".dashpanel");
    await until(() => panels.count(), (n) => n === 5, "5 panels");
    for (let i = 0; i < 5; i += 1) await drawn(panels.nth(i));

    // Clicking a table row filters the whole dashboard.
    const ip = config.topIps[0].key;
    await panels.nth(0).getByRole("button", { name: ip, exact: true }).click();
    await until(() => page.locator(".pills .pill").allTextContents(), (p) => p.some((t) => t.includes(`sourceIPAddress: ${ip}`)), "the filter pill");
    await until(() => panels.nth(0).locator("tbody tr").count(), (n) => n === 1, "the table reduced to that IP");
    await page.getByRole("button", { name: /Remove filter/ }).click();

    // Resize the first panel by its corner handle, and move the second by its title.
    const before = await panels.nth(0).boundingBox();
    const handle = panels.nth(0).locator(".react-resizable-handle");
    const hb = await handle.boundingBox();
    await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
    await page.mouse.down();
    await page.mouse.move(hb.x + 200, hb.y + 80, { steps: 10 });
    await page.mouse.up();
    const after = await until(() => panels.nth(0).boundingBox(), (b) => b.width > before.width + 100, "a wider panel");
    assert(after.height > before.height, "a taller panel");
    await page.getByRole("button", { name: /^Save/ }).first().click();
    await until(() => page.getByRole("status").textContent(), (t) => t === "Saved", "saved");
    const stored = await (await page.request.get(`${config.base}/api/saved-objects/dashboard/${id}`)).json();
    const first = stored.attributes.panels[0];
    assert(first.w > 6 && first.h > 8, `the saved size of the resized panel: ${JSON.stringify(first)}`);
    await page.reload();
    await until(() => panels.count(), (n) => n === 5, "5 panels after reload");
    const reloaded = await panels.nth(0).boundingBox();
    assert(reloaded.width > before.width + 100, `size kept after reload: ${reloaded.width} vs ${before.width}`);
    for (let i = 0; i < 5; i += 1) await drawn(panels.nth(i));
    await page.screenshot({ path: `${config.shots}/dashboard.png` });

    // Export, delete, import: the same dashboard comes back.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export" }).click()]);
    const file = `${config.shots}/ecs-overview.json`;
    await download.saveAs(file);
    const { readFileSync } = await import("node:fs");
    const bundle = JSON.parse(readFileSync(file, "utf8"));
    assert(bundle.format === "trailscope-saved-objects" && bundle.version === 1, `bundle header ${bundle.format} ${bundle.version}`);
    assert(bundle.objects.length === 6 && bundle.objects.at(-1).id === id, `bundle objects: ${bundle.objects.map((o) => o.type + "/" + o.id)}`);
    await page.goto(`${config.base}/dashboards`);
    page.once("dialog", (d) => d.accept());
    await page.locator(".objlist li", { hasText: "ECS overview" }).getByRole("button", { name: "delete" }).click();
    await until(() => page.locator(".objlist li", { hasText: "ECS overview" }).count(), (n) => n === 0, "the dashboard deleted");
    await page.getByLabel("Import dashboard").setInputFiles(file);
    await until(() => page.getByRole("status").textContent(), (t) => (t ?? "").includes("Imported 6 objects"), "the import");
    await page.locator(".objlist li a", { hasText: "ECS overview" }).click();
    await until(() => panels.count(), (n) => n === 5, "5 panels after import");
    // A broken file is refused with a reason.
    await page.goto(`${config.base}/dashboards`);
    await page.getByLabel("Import dashboard").setInputFiles({ name: "bad.json", mimeType: "application/json", buffer: Buffer.from('{"format":"kibana"}') });
    await until(() => page.getByRole("alert").textContent(), (t) => (t ?? "").includes("not a trailscope export"), "the refusal");
  },
});

Object.assign(tests, {
  /** Each app installs in one click, and every panel of its dashboard draws something. */
  async "apps-install-each"(page, config) {
    for (const [app, shot] of [["cloudtrail-security", "security-dashboard"], ["ecs-activity", "ecs-dashboard"], ["cloudtrail-overview", "overview-dashboard"]]) {
      await page.goto(`${config.base}/apps`);
      const card = page.locator(`section[data-app="${app}"]`);
      await card.getByRole("button", { name: "Install", exact: true }).click();
      await card.getByRole("button", { name: "Open dashboard" }).click();
      await page.waitForURL(/\/dashboards\/view\//);
      // The app's own range is the last 30 days, where the demo data lies.
      const panels = page.locator(".dashpanel");
      await until(() => panels.count(), (n) => n > 5, `${app}: its panels`);
      const n = await panels.count();
      for (let i = 0; i < n; i += 1) {
        const title = await panels.nth(i).locator(".panel-title span").textContent();
        try {
          await drawn(panels.nth(i));
        } catch (e) {
          throw new Error(`${app}, panel "${title}": ${e.message}`);
        }
      }
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${config.shots}/${shot}.png`, fullPage: true });
    }
    // Uninstalling removes the app's objects; the library offers it again.
    await page.goto(`${config.base}/apps`);
    const card = page.locator('section[data-app="ecs-activity"]');
    page.once("dialog", (d) => d.accept());
    await card.getByRole("button", { name: "Uninstall" }).click();
    await card.getByRole("button", { name: "Install", exact: true }).waitFor({ timeout: TIMEOUT });
    const listed = await page.request.get(`${config.base}/api/saved-objects?type=visualization`);
    const left = await listed.json();
    assert(listed.ok(), `listing: ${listed.status()} ${JSON.stringify(left)}`);
    const remaining = left.objects.filter((o) => o.id.startsWith("ecs-activity-")).map((o) => o.id);
    assert(remaining.length === 0, `the ECS app's visualizations are gone, but: ${remaining}`);
  },
});

Object.assign(tests, {
  /** A panel whose query fails shows the server's error, and the other panels still draw. */
  async "panel-shows-server-error"(page, config) {
    const put = (type, id, attributes) => page.request.put(`${config.base}/api/saved-objects/${type}/${id}`, { data: { attributes } });
    const base = { type: "table", query: "", filters: [], metric: { type: "count" }, split: { field: "eventName", size: 5, order: "desc" } };
    await put("visualization", "broken-query", { ...base, title: "Broken query", query: "eventName:(Run" });
    await put("visualization", "good-table", { ...base, title: "Event names" });
    const r = await put("dashboard", "with-a-broken-panel", {
      title: "With a broken panel",
      query: "",
      filters: [],
      panels: [
        { i: "p1", kind: "visualization", ref: "broken-query", x: 0, y: 0, w: 6, h: 6 },
        { i: "p2", kind: "visualization", ref: "good-table", x: 6, y: 0, w: 6, h: 6 },
        { i: "p3", kind: "visualization", ref: "deleted-one", x: 0, y: 6, w: 6, h: 4 },
      ],
    });
    assert(r.ok(), `dashboard: ${r.status()}`);
    await page.goto(`${config.base}/dashboards/view/with-a-broken-panel?from=${encodeURIComponent(config.from)}&to=${encodeURIComponent(config.to)}`);
    const panels = page.locator(".dashpanel");
    const err = panels.nth(0).locator('[data-state="error"]');
    await err.waitFor({ timeout: TIMEOUT });
    assert((await err.textContent()).includes("expected ')'"), `the server's message: ${await err.textContent()}`);
    await drawn(panels.nth(1));
    await until(() => panels.nth(2).textContent(), (t) => (t ?? "").includes("was deleted"), "the missing panel explained");
  },
});
