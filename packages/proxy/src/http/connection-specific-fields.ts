/**
 * CONNECTION_SPECIFIC_FIELDS are the fields that describe one connection, not the message: HTTP/2 forbids
 * them (RFC 9113 8.2.2), so they are never carried between an HTTP/2 side and any other, either way.
 */
export const CONNECTION_SPECIFIC_FIELDS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
]);
