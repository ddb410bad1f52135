export { CompactRange, type NodeVisitor } from './compact-range.ts';
export { type NodeHash, type NodeId, nodeEnd, nodeKey, nodeStart } from './node-id.ts';
export { consistencyPlan, inclusionPlan, type ProofPlan, rootPlan } from './plan.ts';
export { referenceConsistencyProof, referenceInclusionProof, referenceRoot } from './reference.ts';
export {
  bitLength,
  completedNodes,
  consistencyRanges,
  inclusionRanges,
  isPowerOfTwo,
  isTreeSize,
  type LeafRange,
  type LevelRange,
  largestPowerOfTwoBelow,
  perfectSubtrees,
  popcount,
} from './tree-math.ts';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './verify.ts';
