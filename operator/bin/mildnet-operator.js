#!/usr/bin/env node
// Runs the compiled operator; build it first with `npm run build -w operator`.
require('../dist/main.js')
  .main()
  .catch((err) => {
    process.stderr.write(`mildnet-operator: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
