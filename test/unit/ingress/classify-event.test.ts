import { describe, expect, it } from 'vitest';
import { classifyEvent } from '../../../src/webhooks/classify-event.js';

describe('classifyEvent', () => {
  it.each([
    ['push', undefined],
    ['create', undefined],
    ['pull_request', 'opened'],
    ['pull_request', 'synchronize'],
    ['pull_request', 'reopened'],
    ['pull_request', 'closed'],
    ['check_run', 'rerequested'],
    ['check_run', 'requested_action'],
    ['check_suite', 'rerequested'],
    ['installation', 'created'],
    ['installation_repositories', 'removed'],
  ])('%s %s is handled', (event, action) => {
    expect(classifyEvent(event, action)).toEqual({ kind: 'handled' });
  });

  it.each([
    ['check_run', 'created', 'action not handled'],
    ['check_run', 'completed', 'action not handled'],
    ['check_suite', 'requested', 'action not handled'],
    ['check_suite', 'completed', 'action not handled'],
    ['pull_request', 'labeled', 'action not handled'],
    ['pull_request', undefined, 'event without an action'],
    ['star', 'created', 'event not handled'],
    ['deployment_status', 'created', 'event not handled'],
  ])('%s %s is ignored (%s)', (event, action, reason) => {
    expect(classifyEvent(event, action)).toEqual({ kind: 'ignored', reason });
  });

  it('answers ping', () => {
    expect(classifyEvent('ping', undefined)).toEqual({ kind: 'ping' });
  });
});
