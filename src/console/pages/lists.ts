/** Console pages: lists (to be written). */
import type { PageRegistrar } from '../console.js';

export function listsPages(_page: PageRegistrar): void {}
