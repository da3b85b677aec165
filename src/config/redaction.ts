/**
 * Settings of the one redactor (src/pipeline/redact/): the operator's extra
 * key names, applied where incident samples are kept, so the database, the
 * API, notifications and prompts all see the same redacted lines. The
 * built-in keys, token shapes and the rest are in the redactor's own files.
 */
import { z } from 'zod';

export const redactionConfigSchema = z.strictObject({
  /**
   * More key names whose values are redacted in query strings, forms,
   * key=value pairs and JSON fields: matched as a substring of the key,
   * case-insensitive (`tenant` also covers `tenant_id`).
   */
  extra_secret_keys: z.array(z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/)).default([]),
});

export type RedactionConfig = z.infer<typeof redactionConfigSchema>;
