#!/usr/bin/env node
'use strict';
// Runs the compiled CLI when the trainer is built (the image), else the
// TypeScript sources through ts-node (a checkout).
const path = require('node:path');
const fs = require('node:fs');

// A closed pipe (mildnet presets | head) ends the output, not the program with a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const compiled = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
let entry = compiled;
if (!fs.existsSync(compiled)) {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', '..', 'tsconfig.json') });
  entry = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
}
require(entry)
  .main(process.argv.slice(2))
  .then((status) => {
    process.exitCode = status;
  });
