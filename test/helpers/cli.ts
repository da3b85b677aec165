/** The `haproxy-manager` CLI in a child process, as an operator runs it (the compiled program of built-cli.ts; $HAPROXY_MANAGER_CONFIG unset). */
import { execFile } from 'node:child_process';
import { builtBin } from './built-cli.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.HAPROXY_MANAGER_CONFIG;
    execFile(process.execPath, [builtBin(), ...args], { env, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
