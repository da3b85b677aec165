/**
 * notify: tell people. Not a change: carrying it out only records it (the
 * message itself is the incident's or the acted round's notification, sent
 * by the notifier, which deduplicates; hence no cooldown and no cap).
 */
import type { ActionUnit } from './types.js';
import { noTarget } from './targets.js';

export const notifyUnit = {
  name: 'notify',
  targetKind: 'none',
  access: 'none',
  timed: false,
  change: false,
  help: 'tell a person, change nothing; target: empty',
  modelName: 'notify_only',
  validate: noTarget,
  text: () => null,
  execute: async () => 'recorded',
  describe: () => 'notify people',
} as const satisfies ActionUnit<null>;
