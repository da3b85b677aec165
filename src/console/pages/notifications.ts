/** Console pages: notifications (to be written). */
import type { PageRegistrar } from '../console.js';

export function notificationsPages(_page: PageRegistrar): void {}
