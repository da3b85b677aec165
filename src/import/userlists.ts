/**
 * A `userlist` read into the users of the access.auth group: `password
 * <crypt hash>` becomes password_hash (the API takes SHA-256 and SHA-512
 * crypt and refuses the others, which the import then reports per user);
 * `insecure-password <text>` becomes password, which the daemon hashes
 * (SHA-512 crypt) before it stores anything. The import reports every such
 * user in its notes, so a clear password is never taken silently.
 */
import type { CfgLine, Section } from './tokenize.js';

export interface UserOf {
  body: Record<string, unknown>;
  line: CfgLine;
  insecure: boolean;
}

export interface Userlist {
  header: CfgLine;
  lines: number;
  used: boolean;
  /** Lines that are neither a user with a password nor a group. */
  unread: CfgLine[];
  /** The users of a group (null: every user), in the order the file lists them. */
  usersOf(group: string | null): UserOf[];
}

export function readUserlist(s: Section): Userlist {
  const users = new Map<string, UserOf & { groups: Set<string> }>();
  const groups = new Map<string, Set<string>>();
  const unread: CfgLine[] = [];
  for (const l of s.lines) {
    const w = l.words;
    if (w[0] === 'group' && w[1]) {
      const g = groups.get(w[1]) ?? new Set<string>();
      const i = w.indexOf('users');
      if (i > 0) for (const u of (w[i + 1] ?? '').split(',')) if (u) g.add(u);
      groups.set(w[1], g);
    } else if (w[0] === 'user' && w[1] && (w[2] === 'password' || w[2] === 'insecure-password') && w[3] !== undefined) {
      const insecure = w[2] === 'insecure-password';
      const i = w.indexOf('groups');
      const own = new Set(i > 0 ? (w[i + 1] ?? '').split(',').filter(Boolean) : []);
      users.set(w[1], { body: { name: w[1], ...(insecure ? { password: w[3] } : { password_hash: w[3] }) }, line: l, insecure, groups: own });
    } else unread.push(l);
  }
  return {
    header: s.header,
    lines: s.lines.length + 1,
    used: false,
    unread,
    usersOf(group) {
      return [...users.entries()]
        .filter(([name, u]) => group === null || u.groups.has(group) || (groups.get(group)?.has(name) ?? false))
        .map(([, u]) => ({ body: u.body, line: u.line, insecure: u.insecure }));
    },
  };
}
