/** Console pages: certificates (to be written). */
import type { PageRegistrar } from '../console.js';

export function certificatesPages(_page: PageRegistrar): void {}
