/**
 * The action of the audit event that prunes a sealed segment past online retention
 * (docs/retention.md). Its metadata names the range (`segment.first`, `segment.last`,
 * inclusive) and the archive objects that hold it; the store's rule reads those two numbers, so
 * they live here, below both the store and the archive layer.
 */
export const PRUNE_ACTION = 'evident.prune';
