// Where this server's pages, API and Socket.IO live, as the browser reaches them: the folder
// above /ui/. That is the site's root when callcenter is served directly, and a sub-path such as
// /callcenter/ behind a reverse proxy that serves it there (docs/deploy.md). Pages and modules
// name the server's paths as the server knows them ('/api/calls') and go through `at`.
export const BASE = new URL('../', import.meta.url);

/** The server's `path` ('/api/...', query included) as this page must ask for it. */
export function at(path) {
  const url = new URL(String(path).replace(/^\//, ''), BASE);
  return url.pathname + url.search;
}
