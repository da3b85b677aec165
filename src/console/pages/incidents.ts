/** Console pages: incidents (to be written). */
import type { PageRegistrar } from '../console.js';

export function incidentsPages(_page: PageRegistrar): void {}
