// The console is served by agentmcp at /console/ under `Content-Security-Policy: default-src
// 'self'`: every script, style and image must be a file of its own (nothing inlined), and the
// TypeScript client is bundled from ../clients/typescript (its built single-file ESM).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  resolve: {
    alias: { "@agentmcp/client": fileURLToPath(new URL("../clients/typescript/dist/bundle.js", import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL("../server/consoleui/dist", import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: false,
  },
  // `npm run dev` against `make run` on :8080.
  server: { proxy: { "/v3": "http://localhost:8080", "/docs": "http://localhost:8080", "/openapi.yaml": "http://localhost:8080" } },
});
