/**
 * The real CLI as a child process: bin/haproxy-manager running the compiled
 * dist/main.js, as the package ships it (test/helpers/built-cli.ts builds it
 * once per change of the sources, outside the checkout's dist/), with a
 * clean environment: no API key, no credential, no default configuration.
 * Asynchronous, so a daemon running in the test process can answer it.
 */
import { spawn } from 'node:child_process';
import { builtBin, ROOT } from '../helpers/built-cli.js';

export { ROOT };
export const BIN = builtBin();

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['HAPROXY_MANAGER_API_KEY', 'CREDENTIALS_DIRECTORY', 'HAPROXY_MANAGER_CONFIG', 'NOTIFY_SOCKET']) if (!(k in extra)) delete env[k];
  return env;
}

/** Runs a command with stdout and stderr as pipes, collecting both. */
export function runProcess(cmd: string, args: string[], o: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: o.cwd ?? ROOT, env: o.env ?? cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    p.stdin.end(o.input ?? '');
  });
}

/** `haproxy-manager <args>`. */
export function cli(args: string[], o: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return runProcess(process.execPath, [BIN, ...args], o);
}

/** A bash command line (real pipes between processes), where the function `hm` is the CLI. */
export function sh(line: string, o: { env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return runProcess('/bin/bash', ['-c', `hm() { "$HM_NODE" "$HM_BIN" "$@"; }\n${line}`], { env: { ...(o.env ?? cleanEnv()), HM_NODE: process.execPath, HM_BIN: BIN } });
}

/** The one JSON document of a --json run (fails the test with the output when it is not JSON). */
export function json<T = Record<string, unknown>>(r: Run): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`);
  }
}

/** Sample HAProxy log lines (an HTTP line that matches a shipped rule, a line that is not a log line). */
export const HTTP_LINE = 'Nov 25 14:00:00 lb haproxy[1]: 203.0.113.9:51234 [25/Nov/2026:14:00:00.123] web app-backend/s1 0/0/1/2/3 404 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8} "GET /.env?x=1 HTTP/1.1"';
