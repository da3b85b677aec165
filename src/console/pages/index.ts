/**
 * Every console page, registered in one place (the nav in
 * templates/console/layout.njk lists the same pages). Each group's loaders
 * live in a file of their own and read only through the API.
 */
import type { PageRegistrar } from '../console.js';
import { overviewPages } from './overview.js';
import { domainsPages } from './domains.js';
import { incidentsPages } from './incidents.js';
import { listsPages } from './lists.js';
import { certificatesPages } from './certificates.js';
import { notificationsPages } from './notifications.js';

export function registerPages(page: PageRegistrar): void {
  overviewPages(page);
  domainsPages(page); // /domains, /domains/new, /domains/:name, /servers
  incidentsPages(page); // /incidents, /incidents/:id, /actions, /explain
  listsPages(page); // /blocks (blocked and trusted addresses)
  certificatesPages(page); // /certificates
  notificationsPages(page); // /notifications, /audit
}
