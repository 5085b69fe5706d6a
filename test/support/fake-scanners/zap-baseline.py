#!/usr/bin/env node
// Stand-in for ZAP's zap-baseline.py: writes the configured fixture to -J (relative to the working dir).
require(require("node:path").join(__dirname, "fake-scanner.cjs"))("zap", "-J");
