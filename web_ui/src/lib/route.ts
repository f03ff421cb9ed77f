// The app's pages by URL hash: `#/` the live page, `#/analyze` video analysis, `#/jobs/<id>` one
// job's result. A hash keeps the static build servable by any file server (no rewrite rules).

export type Route = { page: 'live' } | { page: 'analyze' } | { page: 'job'; jobId: string };

/** The route of a location hash ("#/jobs/j_1" -> job j_1); anything unknown is the live page. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/analyze') return { page: 'analyze' };
  const job = /^\/jobs\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (job) return { page: 'job', jobId: job[1] };
  return { page: 'live' };
}

/** The hash of a route (the inverse of parseRoute). */
export function routeHash(route: Route): string {
  if (route.page === 'analyze') return '#/analyze';
  if (route.page === 'job') return `#/jobs/${route.jobId}`;
  return '#/';
}
