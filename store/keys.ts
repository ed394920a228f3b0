/**
 * Idempotency keys are `workflowId:step`. They become field names inside participant documents
 * (`creditHolds.<key>`), so the characters MongoDB gives meaning to in a field path are escaped.
 */
export function fieldKey(key: string): string {
  return key.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\$/g, '%24');
}
