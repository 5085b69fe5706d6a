import { describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../../src/executors/executor.js';
import { parseJunit } from '../../../src/gates/tests/parse-junit.js';
import { evaluateTests } from '../../../src/gates/tests/tests-gate.js';

function result(extra: Partial<ExecutionResult>): ExecutionResult {
  return {
    exitCode: 0,
    timedOut: false,
    cancelled: false,
    logTail: '',
    logBytes: 0,
    reports: {},
    reportProblems: {},
    durationMs: 4200,
    ...extra,
  };
}

const PYTEST = `<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3">
<testcase classname="tests.test_api" name="test_ok" file="tests/test_api.py" line="3" time="0.01"/>
<testcase classname="tests.test_api" name="test_broken" file="tests/test_api.py" line="10" time="0.02">
  <failure message="assert 1 == 2">def test_broken():
&gt;       assert 1 == 2
E       assert 1 == 2</failure></testcase>
<testcase classname="tests.test_api" name="test_skip" file="tests/test_api.py" line="20"><skipped message="later"/></testcase>
</testsuite></testsuites>`;

const VITEST = `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="2" failures="1" errors="0">
  <testsuite name="test/math.test.ts" tests="2" failures="1" errors="0" skipped="0">
    <testcase classname="test/math.test.ts" name="math &gt; adds" time="0.002">
      <failure message="expected 3 to be 4" type="AssertionError">AssertionError: expected 3 to be 4
 ❯ test/math.test.ts:7:19</failure>
    </testcase>
    <testcase classname="test/math.test.ts" name="math &gt; subtracts" time="0.001"/>
  </testsuite>
</testsuites>`;

describe('evaluateTests', () => {
  it('passes on exit 0 and shows the log tail in a code block', () => {
    const r = evaluateTests(result({ logTail: 'ok 1\nok 2\n' }), { command: ['npm', 'test'] });
    expect(r).toMatchObject({ gate: 'tests', conclusion: 'success', title: 'Tests passed' });
    expect(r.summary).toContain('```\nok 1\nok 2\n```');
  });

  it('fails on a non-zero exit even when JUnit shows no failures (the exit code decides)', () => {
    const xml = '<testsuite name="s" tests="1"><testcase name="a"/></testsuite>';
    const r = evaluateTests(result({ exitCode: 2, reports: { junit: xml } }), {
      command: ['make', 'test'],
      junitPath: 'junit.xml',
    });
    expect(r).toMatchObject({ conclusion: 'failure', title: 'Tests failed (exit status 2)' });
  });

  it('turns pytest JUnit failures into annotations on the test file and line', () => {
    const r = evaluateTests(result({ exitCode: 1, reports: { junit: PYTEST } }), {
      command: ['pytest'],
      junitPath: 'junit.xml',
    });
    expect(r.title).toBe('1 of 3 tests failed');
    expect(r.counts).toEqual({ tests: 3, failures: 1, errors: 0, skipped: 1 });
    expect(r.annotations).toEqual([
      expect.objectContaining({
        path: 'tests/test_api.py',
        start_line: 10,
        end_line: 10,
        annotation_level: 'failure',
        title: 'Failed: test_broken',
      }),
    ]);
    expect(r.annotations[0]!.message).toContain('>       assert 1 == 2');
  });

  it('finds file and line for vitest JUnit from the classname and the stack', () => {
    const r = evaluateTests(result({ exitCode: 1, reports: { junit: VITEST } }), {
      command: ['npx', 'vitest'],
      junitPath: 'j.xml',
    });
    expect(r.annotations).toEqual([expect.objectContaining({ path: 'test/math.test.ts', start_line: 7 })]);
  });

  it('strips the checkout prefix from absolute paths and refuses paths outside the repo', () => {
    const xml = `<testsuite name="s"><testcase name="a" file="/tmp/shipgate-tests-AbC123/src/pkg/a_test.go" line="5"><failure message="x"/></testcase>
      <testcase name="b" file="/etc/passwd" line="1"><failure message="y"/></testcase>
      <testcase name="c" file="../../x.go" line="1"><error message="z"/></testcase></testsuite>`;
    const r = evaluateTests(result({ exitCode: 1, reports: { junit: xml } }), {
      command: ['go', 'test'],
      junitPath: 'j.xml',
    });
    expect(r.annotations.map((a) => a.path)).toEqual(['pkg/a_test.go']);
    expect(r.counts).toMatchObject({ failures: 2, errors: 1 });
  });

  it('says when the JUnit report is missing or invalid, without failing a passing run', () => {
    const missing = evaluateTests(result({}), { command: ['t'], junitPath: 'out/junit.xml' });
    expect(missing.conclusion).toBe('success');
    expect(missing.summary).toContain('No JUnit report at `out/junit.xml`');
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><testsuite><testcase name="&lol4;"/></testsuite>`;
    for (const junit of ['<testsuite', '<html/>', laughs]) {
      const r = evaluateTests(result({ exitCode: 1, reports: { junit } }), {
        command: ['t'],
        junitPath: 'j.xml',
      });
      expect(r.conclusion).toBe('failure');
      expect(r.summary.length).toBeLessThan(10_000);
    }
  });

  it('reports a timeout and a missing command', () => {
    expect(
      evaluateTests(result({ exitCode: 143, timedOut: true, durationMs: 60_000 }), { command: ['t'] }).title,
    ).toBe('Tests timed out after 60s');
    expect(evaluateTests(result({ exitCode: 127 }), { command: ['nope'] }).title).toBe(
      'Test command not found: nope',
    );
  });

  it('fences a log that contains backticks and keeps only the tail', () => {
    const log = `${Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n')}\n\`\`\`\`\nend\n`;
    const r = evaluateTests(result({ exitCode: 1, logTail: log, logBytes: 10_000_000 }), { command: ['t'] });
    expect(r.summary).toContain('`````\n');
    expect(r.summary).not.toContain('line 100\n');
    expect(r.summary).toContain('line 499');
    expect(r.summary).toMatch(/of 10000000 bytes/);
  });

  it('marks a cancelled run', () => {
    expect(evaluateTests(result({ cancelled: true }), { command: ['t'] })).toMatchObject({
      cancelled: true,
      conclusion: 'neutral',
    });
  });
});

describe('parseJunit', () => {
  it('walks nested suites and counts bare failures', () => {
    const xml = `<testsuites><testsuite name="outer"><testsuite name="inner" file="spec/a_spec.rb">
      <testcase name="x"><failure/></testcase><testcase name="y"><error>boom</error></testcase></testsuite></testsuite></testsuites>`;
    const summary = parseJunit(xml);
    expect(summary).toMatchObject({ tests: 2, failures: 1, errors: 1 });
    expect(summary.failed.map((f) => [f.name, f.file, f.message])).toEqual([
      ['x', 'spec/a_spec.rb', 'failure'],
      ['y', 'spec/a_spec.rb', 'boom'],
    ]);
  });
});
