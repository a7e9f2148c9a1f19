// bench/mustache.js: the mustache.js side of bench/run-mustache.
//
// Usage: node bench/mustache.js MODULES TEMPLATE DATA [N | --once]
// MODULES is the directory holding node_modules/mustache; TEMPLATE and
// DATA are the files `bench-mustache --template` / `--data` print. Renders
// N times (default 1000000) with mustache.js defaults (HTML escaping on,
// parsed template cached after the first render) and prints renders/s;
// --once prints one render for a byte-for-byte comparison.
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, templateFile, dataFile, arg = '1000000'] = process.argv.slice(2);
const Mustache = require(path.join(modules, 'node_modules', 'mustache'));
const template = fs.readFileSync(templateFile, 'utf8');
const view = JSON.parse(fs.readFileSync(dataFile, 'utf8'));

let out = Mustache.render(template, view);
if (arg === '--once') {
        process.stdout.write(out);
        process.exit(0);
}
const n = Number(arg);
const t0 = process.hrtime.bigint();
let bytes = 0;
for (let i = 0; i < n; i++) {
        out = Mustache.render(template, view);
        bytes += out.length;
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`js: ${n} renders of ${Buffer.byteLength(out)} bytes in ${s.toFixed(3)} s: ` +
        `${Math.round(n / s)} renders/s (mustache ${Mustache.version}, node ${process.version})`);
