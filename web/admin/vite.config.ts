import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The dashboard is served by the edge under /admin/ and calls the API on the same origin
// (/api/v1/...). In development (`npm run dev`, `npm run preview`) the API calls go to the edge
// named by EDGE_URL (default: the one `scripts/run` starts).
const edge = process.env.EDGE_URL ?? "http://127.0.0.1:3000";
const proxy = { "/api": { target: edge, changeOrigin: true } };

export default defineConfig({
  base: "/admin/",
  plugins: [react()],
  resolve: {
    alias: {
      "@tessera/client": fileURLToPath(new URL("../client/src/index.ts", import.meta.url)),
    },
  },
  server: { proxy },
  preview: { proxy },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
  },
});
