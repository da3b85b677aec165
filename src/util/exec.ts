/**
 * Running external commands with a timeout, always. A command that outlives
 * its timeout is killed (SIGKILL) and reported as timed out, so a wedged
 * binary can never wedge the daemon (the original's 2a2b973).
 */
import { spawn } from 'node:child_process';
import { childEnv } from './child-env.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export function run(cmd: string, args: string[], opts: { timeoutMs: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout kills whatever it started too (a shell's `sleep` would
    // otherwise keep the pipes open and the call hanging).
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv(opts.env ?? process.env), cwd: opts.cwd, detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const limit = 1 << 20;
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < limit) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < limit) stderr += d.toString();
    });
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs);
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', finish);
    // After a timeout, do not wait for pipes a stray grandchild may still hold.
    child.on('exit', (code, signal) => {
      if (timedOut) finish(code, signal);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
