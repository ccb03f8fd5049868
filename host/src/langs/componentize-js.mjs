// gauntlet's build of a JavaScript plugin: ComponentizeJS called as a
// library (its `jco componentize` CLI cannot read a WIT path here).
//
//   node componentize-js.mjs PREFIX SOURCE WIT WORLD OUT
//
// PREFIX is where ComponentizeJS is installed (gauntlet installs it, pinned,
// under its cache directory). Every engine feature that would import WASI
// or wasi:http is off: gauntlet's sandbox serves a plugin its world's
// imports and a virtualised WASI, but no wasi:http, and an uncaught
// exception then traps (a TRAP verdict) instead of printing.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [prefix, sourcePath, witPath, worldName, out] = process.argv.slice(2);
const entry = join(prefix, 'node_modules/@bytecodealliance/componentize-js/src/componentize.js');
const { componentize } = await import(pathToFileURL(entry).href);
const { component } = await componentize({
  sourcePath,
  witPath,
  worldName,
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await writeFile(out, component);
