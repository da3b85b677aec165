/** Console pages: domains (to be written). */
import type { PageRegistrar } from '../console.js';

export function domainsPages(_page: PageRegistrar): void {}
