/** The remediation policy stage: policy as data, decide(), guardrails, action records. */
export * from './types.js';
export { policyFileSchema, type Policy, type PolicyRule, type PolicyActionEntry, type AnalyseEntry } from './schema.js';
export { loadPolicy, parsePolicy, PolicyLoadError, type LoadedPolicy, type LoadPolicyOptions } from './load.js';
export { decide, ruleMatches, analyseEntry, settledEntry } from './decide.js';
export { applyGuardrails, guardrailState, checkTarget, protectedHit, BUILTIN_PROTECTED } from './guardrails.js';
export * from './actions.js';
export { fromAnalysisResult, type AnalysisLike } from './analysis.js';
