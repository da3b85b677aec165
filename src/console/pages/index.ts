/**
 * Every console page, registered in one place (the nav in
 * templates/console/layout.njk lists the same pages). Each group's loaders
 * live in a file of their own and read only through the API.
 */
import type { PageRegistrar } from '../console.js';
import { overviewPages } from './overview.js';

export function registerPages(page: PageRegistrar): void {
  overviewPages(page);
}
