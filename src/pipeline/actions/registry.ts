/**
 * The registry: every action there is. Adding one is a file implementing
 * ActionUnit and one line here; the policy schema, the guardrails, the
 * executor and the store's name check all read this list.
 */
import type { ActionUnit } from './types.js';
import { blockIpUnit } from './block-ip.js';
import { unblockIpUnit } from './unblock-ip.js';
import { trustIpUnit } from './trust-ip.js';
import { untrustIpUnit } from './untrust-ip.js';
import { disableServerUnit, drainServerUnit, enableServerUnit } from './server-state.js';
import { reloadHaproxyUnit } from './reload-haproxy.js';
import { restartHaproxyUnit } from './restart-haproxy.js';
import { notifyUnit } from './notify.js';
import { AppError } from '../../errors.js';

const UNITS = [
  blockIpUnit,
  unblockIpUnit,
  trustIpUnit,
  untrustIpUnit,
  disableServerUnit,
  enableServerUnit,
  drainServerUnit,
  reloadHaproxyUnit,
  restartHaproxyUnit,
  notifyUnit,
] as const;

export type ActionType = (typeof UNITS)[number]['name'];
/** The action names, in registry order (a tuple for z.enum). */
export const ACTION_TYPES = UNITS.map((u) => u.name) as [ActionType, ...ActionType[]];

const byName = new Map<string, ActionUnit>(UNITS.map((u) => [u.name, u as ActionUnit]));
for (const u of byName.values()) {
  if (u.inverse !== undefined && !byName.has(u.inverse)) throw new Error(`action ${u.name}: its inverse ${u.inverse} is not registered`);
}

export const isAction = (name: unknown): name is ActionType => typeof name === 'string' && byName.has(name);

/** The unit of a registered action. */
export function unitOf(name: ActionType): ActionUnit {
  return byName.get(name) as ActionUnit;
}

/** The unit of a name from outside (a stored row, a request); throws AppError('validation') for an unknown one. */
export function requireUnit(name: string): ActionUnit {
  const u = byName.get(name);
  if (!u) throw new AppError('validation', `unknown action ${JSON.stringify(name.slice(0, 40))} (known: ${ACTION_TYPES.join(', ')})`, { field: 'action' });
  return u;
}

/** Every unit, in registry order. */
export const allUnits = (): readonly ActionUnit[] => [...byName.values()];
