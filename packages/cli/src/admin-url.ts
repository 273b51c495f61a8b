/** DEFAULT_ADMIN_URL is where `portico status`, `routes` and `endpoints` look for the admin API. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9901';
