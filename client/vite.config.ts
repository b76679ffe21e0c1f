import { defineConfig } from "vite";

// Preact's automatic JSX runtime comes from tsconfig.json (jsx, jsxImportSource), which
// Vite's transformer reads: no plugin needed. Each view is its own chunk (dynamic import
// in main.tsx), so a phone loads the participant view only.
export default defineConfig({
  // Built into the Python package, so the server finds it in a checkout and
  // `pip install .` ships it (package-data "static/**/*").
  build: {
    target: "es2020",
    sourcemap: false,
    assetsInlineLimit: 0,
    outDir: "../server/static",
    emptyOutDir: true,
    // .vite/manifest.json: scripts/size.mjs adds up what a phone loads for each view.
    manifest: true,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
  test: { environment: "happy-dom", include: ["tests/**/*.test.ts"] },
});
