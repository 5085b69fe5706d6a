/* global require, module, process, setInterval */
/* eslint-disable @typescript-eslint/no-require-imports */
/*
 * Shared body of the stand-in scanners. Trivy and ZAP cannot be installed here, so tests put
 * these on PATH: they parse the real command line, record the call, and write a real fixture
 * report where the real tool would. Behaviour comes from fake-scanner.json next to the script
 * (the executors scrub the environment, so env vars cannot carry it).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

module.exports = function run(tool, reportFlag) {
  const dir = path.dirname(process.argv[1]);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'fake-scanner.json'), 'utf8'))[tool] || {};
  const args = process.argv.slice(2);
  fs.appendFileSync(
    path.join(dir, 'calls.jsonl'),
    `${JSON.stringify({ tool, args, cwd: process.cwd(), files: fs.readdirSync(process.cwd()).sort(), env: Object.keys(process.env).sort() })}\n`,
  );
  const behaviour = config.behaviour || 'report';
  if (behaviour === 'hang') {
    setInterval(() => {}, 1000);
    return;
  }
  if (behaviour === 'crash') {
    process.stderr.write(`FATAL ${tool}: simulated crash\n`);
    process.exit(config.exitCode ?? 1);
  }
  const at = args.indexOf(reportFlag);
  if (at < 0 || !args[at + 1]) {
    process.stderr.write(`${tool}: no ${reportFlag} given\n`);
    process.exit(3);
  }
  const out = path.resolve(process.cwd(), args[at + 1]);
  if (behaviour !== 'no-report') {
    let text = fs.readFileSync(config.fixture, 'utf8');
    if (behaviour === 'truncated') text = text.slice(0, Math.floor(text.length / 2));
    if (behaviour === 'huge') {
      const fd = fs.openSync(out, 'w');
      fs.writeSync(fd, text.replace(/}\s*$/, ', "Padding": "'));
      const block = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < (config.megabytes ?? 51); i += 1) fs.writeSync(fd, block);
      fs.writeSync(fd, '"}');
      fs.closeSync(fd);
    } else fs.writeFileSync(out, text);
  }
  process.stdout.write(`${tool}: scan finished\n`);
  process.exit(config.exitCode ?? 0);
};
