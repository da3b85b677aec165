/** reload_haproxy: a live reload of the current configuration. Cannot be undone. */
import type { ActionUnit } from './types.js';
import { actorOf } from './types.js';
import { noTarget } from './targets.js';

export const reloadHaproxyUnit = {
  name: 'reload_haproxy',
  targetKind: 'none',
  access: 'none',
  timed: false,
  change: true,
  help: 'graceful reload; target: empty',
  validate: noTarget,
  text: () => null,
  async execute(deps, _t, r) {
    await deps.reload(actorOf(r));
    return 'reloaded';
  },
  describe: () => 'reload HAProxy',
} as const satisfies ActionUnit<null>;
