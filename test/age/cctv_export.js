#!/usr/bin/env node
// Writes every CCTV age test vector (npm package cctv-age, pinned in test/package.json)
// to the directory given as the only argument, one file per vector, named as upstream.
// Vectors with "compressed: zlib" are inflated here and written without that header
// line, so the C++ reader needs no zlib. Usage: node test/age/cctv_export.js <dir>
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

async function main() {
  if (process.argv.length !== 3) {
    process.stderr.write('usage: cctv_export.js <output dir>\n');
    process.exit(2);
  }
  const out = process.argv[2];
  const moduleDir = path.join(__dirname, '..', 'node_modules', 'cctv-age');
  const vectors = await import(path.join(moduleDir, 'index.js'));
  fs.mkdirSync(out, {recursive: true});
  let count = 0;
  for (const [name, bytes] of Object.entries(vectors)) {
    if (!(bytes instanceof Uint8Array)) continue;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`unexpected vector name ${name}`);
    const buf = Buffer.from(bytes);
    const sep = buf.indexOf('\n\n');
    if (sep < 0) throw new Error(`vector ${name}: no blank line after the header`);
    const headerLines = buf.subarray(0, sep).toString('utf8').split('\n');
    let body = buf.subarray(sep + 2);
    const kept = [];
    for (const line of headerLines) {
      if (line === 'compressed: zlib') {
        body = zlib.inflateSync(body);
      } else if (line.startsWith('compressed:')) {
        throw new Error(`vector ${name}: unknown compression ${line}`);
      } else {
        kept.push(line);
      }
    }
    const file = Buffer.concat([Buffer.from(kept.join('\n') + '\n\n', 'utf8'), body]);
    fs.writeFileSync(path.join(out, name), file);
    count++;
  }
  if (count === 0) throw new Error('no vectors found in cctv-age');
  process.stdout.write(`cctv_export: wrote ${count} vectors to ${out}\n`);
}

main().catch((err) => {
  process.stderr.write(`cctv_export: ${err.stack || err}\n`);
  process.exit(1);
});
