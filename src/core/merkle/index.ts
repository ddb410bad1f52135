export { CompactRange } from './compact-range.ts';
export { type NodeHash, type NodeId, nodeEnd, nodeKey, nodeStart } from './node-id.ts';
export { consistencyPlan, inclusionPlan, type ProofPlan, rootPlan } from './plan.ts';
export { referenceConsistencyProof, referenceInclusionProof, referenceRoot } from './reference.ts';
export {
  bitLength,
  consistencyRanges,
  inclusionRanges,
  isPowerOfTwo,
  isTreeSize,
  type LeafRange,
  largestPowerOfTwoBelow,
  perfectSubtrees,
  popcount,
} from './tree-math.ts';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './verify.ts';
