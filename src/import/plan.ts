/**
 * What an import plans: POST /api/domain bodies, exactly as the API takes
 * them, each with the configuration lines its parts came from, and the lines
 * that could not be expressed, each with its file, line and reason.
 */
import type { CfgLine } from './tokenize.js';

/** A line of the imported file that the plan does not carry, and why. */
export interface Skipped {
  file: string;
  line: number;
  text: string;
  reason: string;
}

/** Where in a body a part sits (`['headers', 'request', 2]`) and the lines it came from. */
export interface Source {
  path: (string | number)[];
  lines: CfgLine[];
}

export interface PlannedDomain {
  /** The POST /api/domain body (snake_case, as a client would send it). */
  body: Record<string, unknown>;
  /** The line that routes the host (an ACL, a map line or a use_backend). */
  at: { file: string; line: number; text: string };
  /** The parts of the body that can be dropped alone when the API refuses them. */
  sources: Source[];
}

/** A POST /api/tcp-services body (this project's own TCP services), with its lines as for a domain. */
export interface PlannedTcpService {
  body: Record<string, unknown>;
  /** The line that names the service (its SNI rule, or its listen section). */
  at: { file: string; line: number; text: string };
  sources: Source[];
}

export interface ImportPlan {
  domains: PlannedDomain[];
  /** TCP services (read from this project's own configuration only). */
  tcp_services: PlannedTcpService[];
  skipped: Skipped[];
  notes: string[];
}

export const skip = (l: CfgLine, reason: string): Skipped => ({ file: l.file, line: l.line, text: l.text, reason });
