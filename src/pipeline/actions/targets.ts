/** The target parsers units share: an IP address or CIDR, `backend/server`, none. */
import { AppError } from '../../errors.js';
import { parseIp } from '../../validate/ip.js';

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Canonical IP or CIDR text. */
export function ipTarget(action: string, raw: string | null): string {
  const p = typeof raw === 'string' ? parseIp(raw.trim()) : null;
  if (!p) throw new AppError('validation', `${action} needs an IP address or CIDR as its target`, { field: 'target' });
  return p.text;
}

export interface ServerTarget {
  backend: string;
  server: string;
}

export function serverTarget(action: string, raw: string | null): ServerTarget {
  const parts = typeof raw === 'string' ? raw.split('/') : [];
  if (parts.length === 2 && parts.every((p) => NAME.test(p))) return { backend: parts[0] as string, server: parts[1] as string };
  throw new AppError('validation', `${action} needs "backend/server" (letters, digits, _ . : -, at most 64 each) as its target`, { field: 'target' });
}

export const serverText = (t: ServerTarget) => `${t.backend}/${t.server}`;

/** Reload, restart, notify: no target; one given is ignored rather than trusted. */
export const noTarget = (_raw: string | null): null => null;
