export * from './types.js';
export { evaluateTests, runTestsGate, type TestsGateOptions } from './tests/tests-gate.js';
export { parseJunit, type JunitFailure, type JunitSummary } from './tests/parse-junit.js';
export {
  parseTrivyReport,
  TRIVY_SEVERITIES,
  type TrivyFinding,
  type TrivyReport,
  type TrivySeverity,
} from './trivy/parse-trivy-report.js';
export {
  evaluateTrivy,
  DEFAULT_TRIVY_FAIL_ON,
  type TrivyIgnore,
  type TrivyPolicy,
} from './trivy/evaluate-trivy.js';
export {
  runTrivyGate,
  trivyCommand,
  DEFAULT_TRIVY_IMAGE,
  type TrivyGateOptions,
} from './trivy/trivy-gate.js';
export {
  parseZapReport,
  ZAP_RISKS,
  type ZapAlert,
  type ZapReport,
  type ZapRisk,
} from './zap/parse-zap-report.js';
export { evaluateZap, type ZapPolicy, type ZapRule } from './zap/evaluate-zap.js';
export { runZapGate, zapCommand, DEFAULT_ZAP_IMAGE, type ZapGateOptions } from './zap/zap-gate.js';
export { scannerFailureResult } from './scanner-failure.js';
