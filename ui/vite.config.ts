import { defineConfig } from "vitest/config";

// `npm run build` produces dist/ (Tauri's frontendDist is ../ui/dist).
// `npm run build:demo` produces dist-demo/: the same UI over an in-memory fake
// backend (src/demo), for looking at the screens in a plain browser.
// `npm run build:web` produces dist-web/: the account page the session server serves
// at /account (its build script builds it into its own output directory with
// `-- --outDir DIR` and embeds it).
export default defineConfig(({ mode }) => {
  const demo = mode === "demo";
  const web = mode === "web";
  return {
    // Tauri serves the bundle from its own origin; relative paths also work from file://.
    // The account page lives under /account/ on the server.
    base: web ? "/account/" : "./",
    clearScreen: false,
    server: { port: 1420, strictPort: true },
    build: {
      outDir: demo ? "dist-demo" : web ? "dist-web" : "dist",
      emptyOutDir: true,
      target: "es2022",
      // The polyfill would be fine under the CSP (it is bundled, not inline), but
      // the webviews Tauri targets, and the browsers the page supports, all support
      // modulepreload natively.
      modulePreload: { polyfill: false },
      // Keep everything in files: no inlined data: URLs for assets (CSP img-src 'self').
      assetsInlineLimit: 0,
      rolldownOptions: { input: demo ? "demo.html" : web ? "web.html" : "index.html" },
    },
    test: {
      environment: "jsdom",
      include: ["tests/**/*.test.ts"],
      restoreMocks: true,
    },
  };
});
