import { defineConfig } from "vitest/config";

// `npm run dev` proxies the API to a `trailscope serve` on the default port, so the UI can be
// worked on with hot reload against real data.
const api = process.env.TRAILSCOPE_URL ?? "http://127.0.0.1:9280";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: { "/api": api, "/_elastic": api, "/metrics": api },
  },
  // Pure modules run in Node; component tests (*.test.tsx) say `@vitest-environment jsdom`.
  test: { environment: "node", include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});
