/** Certificate requests queued for the fleet's leader (fleet/cert-requests.ts): the 202 answer and the request as GET shows it. */
import { z } from 'zod';
import { certResult } from './operations.js';
import { idParam, limitParam } from './fields.js';

const state = z.enum(['queued', 'running', 'done', 'failed']).meta({ description: 'queued: waiting for the leader; running: the leader is carrying it out; done: carried out (results say what each name got); failed: error says why' });

/** A node that does not lead answers an order or a renewal with this (202): the leader carries it out. */
export const queuedOut = z.strictObject({
  status: z.literal('queued'),
  request_id: z.number().int().positive(),
  state,
  leader: z.string().nullable().meta({ description: 'The node leading now; null while nobody leads (the next leader carries it out)' }),
  status_url: z.string().meta({ description: 'GET it for the request\'s state and outcome' }),
  message: z.string(),
});

export const requestView = z.strictObject({
  id: z.number().int().positive(),
  kind: z.enum(['order', 'renew']),
  names: z.array(z.string()),
  state,
  requested_by: z.strictObject({ node: z.string(), actor: z.string() }),
  run_node: z.string().nullable().meta({ description: 'The leader that carried it out (or is carrying it out)' }),
  attempts: z.number().int().nonnegative().meta({ description: 'How many times a leader started it (more than 1: a leader died mid-way and the next one ran it again)' }),
  results: z.array(certResult).nullable(),
  error: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

export const requestList = z.strictObject({ requests: z.array(requestView) });
export const requestIdParams = z.strictObject({ id: idParam('The request id (from the 202 answer)') });
export const requestListQuery = z.strictObject({ limit: limitParam(500, 50) });
