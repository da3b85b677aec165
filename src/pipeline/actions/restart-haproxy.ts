/** restart_haproxy: a full restart of the HAProxy process. Cannot be undone. */
import type { ActionUnit } from './types.js';
import { noTarget } from './targets.js';

export const restartHaproxyUnit = {
  name: 'restart_haproxy',
  targetKind: 'none',
  access: 'none',
  timed: false,
  change: true,
  help: 'full restart; target: empty',
  validate: noTarget,
  text: () => null,
  async execute(deps) {
    await deps.restart();
    return 'restarted';
  },
  describe: () => 'restart HAProxy',
} as const satisfies ActionUnit<null>;
