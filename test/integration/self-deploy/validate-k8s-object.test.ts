import { describe, expect, it } from 'vitest';
import { validateK8sObject } from '../../support/validate-k8s-object.js';

// The manifest tests pass only if this validator can fail: prove it refuses bad objects.
describe('validateK8sObject', () => {
  it('refuses a core object with a wrongly typed field', async () => {
    await expect(
      validateK8sObject({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: { replicas: 'two', selector: {}, template: {} },
      } as never),
    ).rejects.toThrow(/replicas/);
  });

  it('refuses a CRD object that breaks its schema', async () => {
    await expect(
      validateK8sObject({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: { name: 'x' },
        spec: { groups: [{ rules: [{ expr: 1 }] }] },
      } as never),
    ).rejects.toThrow();
  });

  it('refuses kinds it has no schema for instead of passing them', async () => {
    await expect(
      validateK8sObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } }),
    ).rejects.toThrow(/no schema/);
  });
});
