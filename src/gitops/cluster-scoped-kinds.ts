/**
 * Kinds that live outside any namespace. Manifests carry no scope, and Shipgate validates
 * offline (no API discovery), so the well-known ones are listed here: the Kubernetes built-ins
 * (kubernetes-models 4 / Kubernetes 1.27 plus the 1.29–1.31 additions) and common CRDs.
 * Kinds not listed are treated as namespaced, so they get the environment's namespace.
 */
const CLUSTER_SCOPED = new Set([
  // core/v1
  'Namespace',
  'Node',
  'PersistentVolume',
  'ComponentStatus',
  // rbac, admission, apiextensions, apiregistration
  'ClusterRole',
  'ClusterRoleBinding',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'CustomResourceDefinition',
  'APIService',
  // storage, scheduling, node, networking, certificates, flowcontrol, policy
  'StorageClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'VolumeAttributesClass',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'IPAddress',
  'ServiceCIDR',
  'CertificateSigningRequest',
  'ClusterTrustBundle',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'PodSecurityPolicy',
  'SelfSubjectReview',
  'TokenReview',
  'SubjectAccessReview',
  'SelfSubjectAccessReview',
  'SelfSubjectRulesReview',
  'ResourceSlice',
  'DeviceClass',
  // common CRDs
  'ClusterAnalysisTemplate',
  'ClusterIssuer',
  'ClusterWorkflowTemplate',
  'ClusterSecretStore',
  'ClusterPolicy',
]);

export function isClusterScopedKind(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}
