#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say which Node it needs.
// The sources are TypeScript that Node ≥ 22.19 runs directly (type stripping).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `vod-tender needs Node.js 22.19 or newer (22 or 24 LTS); this is Node ${process.versions.node}.\n` +
      `Run it through npm (npm start, npm run demo), which uses the Node the project installs, ` +
      `or put a supported Node first on your PATH.\n`,
  );
  process.exit(1);
}
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "ExperimentalWarning" && /Type Stripping/i.test(warning.message)) return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});
await import("../src/runtime/main.ts");
