#!/usr/bin/env node
// Runs the compiled CLI; `npm start` and `npm run build` compile src/ into dist/ first.
import { existsSync } from 'node:fs';
const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('fedgate: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
const { run } = await import(entry.href);
run(process.argv.slice(2));
