// Builds gateway.js into a WebAssembly component with ComponentizeJS, as a
// library (the `jco componentize` CLI is not needed).
//
//   node build.mjs [--wit DIR] [--out FILE]
//
// DIR defaults to ./wit (write it with `gauntlet wit payment-gateway --out wit`),
// FILE to ./payment-gateway-js-naive.wasm. ComponentizeJS is looked for in
// $COMPONENTIZE_JS_PREFIX (the directory where it was `npm install`ed), else
// in <repository>/target/toolchains/js.
import { writeFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? resolve(args[i + 1]) : fallback;
};
const witPath = option('--wit', join(here, 'wit'));
const out = option('--out', join(here, 'payment-gateway-js-naive.wasm'));
const sourcePath = join(here, 'gateway.js');
const worldName = 'gauntlet:payments/plugin@0.1.0';

const prefix = resolve(
  process.env.COMPONENTIZE_JS_PREFIX ?? join(here, '../../../target/toolchains/js'),
);
const entry = join(prefix, 'node_modules/@bytecodealliance/componentize-js/src/componentize.js');
try {
  await stat(entry);
} catch {
  console.error(`ComponentizeJS not found at ${entry}:
  npm install --prefix ${prefix} --save-exact @bytecodealliance/componentize-js@0.23.0
or set COMPONENTIZE_JS_PREFIX to where it is installed.`);
  process.exit(2);
}
try {
  await stat(witPath);
} catch {
  console.error(`no WIT at ${witPath}: gauntlet wit payment-gateway --out ${witPath}`);
  process.exit(2);
}

const { componentize } = await import(pathToFileURL(entry).href);
const started = Date.now();
const { component } = await componentize({
  sourcePath,
  witPath,
  worldName,
  // gauntlet's sandbox gives a plugin its world's imports and a virtualised
  // WASI (clocks, random, no files, no sockets) but no wasi:http: without
  // this the engine would import wasi:http for fetch() and the component
  // would not load. With every feature off, the engine imports no WASI at
  // all; an uncaught exception then traps (shown as a TRAP verdict) instead
  // of being printed.
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await writeFile(out, component);
console.log(
  `wrote ${out} (${(component.length / 1048576).toFixed(1)} MiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
