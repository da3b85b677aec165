/**
 * The triage stage: rules as data (config/rules/*.yaml, overridable from an
 * operator directory), compiled once, run synchronously on every parsed line.
 *
 *   const { rules } = loadRules({ dir: 'config/rules', operatorDir: '/etc/haproxy-manager/rules.d' });
 *   const triage = createTriage(rules, { isProtected });
 *   for (const f of triage.process(parsed, source, rawLine)) incidents.add(f);
 *
 * `haproxy-manager rules test` is rulesTestCommand (fixtures.ts).
 */
export { createTriage, isLoopback, renderSample, type Triage, type TriageOptions, type TriageStats, type RuleStats } from './engine.js';
export { loadRules, parseRuleFile, RuleLoadError, type LoadedRules, type LoadRulesOptions, type RuleFile } from './load.js';
export { ruleSchema, ruleFileSchema, type RuleSpec, type FilterSpec, type ConditionSpec, type ActionSpec, type StringMatch } from './schema.js';
