/**
 * The shapes the console reads, taken from the API's own declared routes:
 * `AnswerOf<typeof route>` is the output of the schema a route answers 200
 * with (what `api.get` returns for it). The console declares no shape of its
 * own, so a change to an answer's schema is a compile error here, not a
 * blank cell on a page.
 */
import type { z } from 'zod';
import type { RouteSpec } from '../api/contract/route.js';

export type AnswerOf<S extends RouteSpec, Status extends keyof S['responses'] = 200> = S['responses'][Status] extends { schema: infer Z extends z.ZodType } ? z.output<Z> : never;

/** One element of a list answer. */
export type ItemOf<S extends RouteSpec> = AnswerOf<S> extends readonly (infer T)[] ? T : never;
