/**
 * The HTTP/2 protocol values Portico names (RFC 9113), as `node:http2`'s `constants` has them, here so
 * that naming them does not load `node:http2` (see lazy-modules.ts).
 */
export const HTTP2_HEADER_STATUS = ':status';
/** NGHTTP2_NO_ERROR is the NO_ERROR error code (RFC 9113 section 7). */
export const NGHTTP2_NO_ERROR = 0x0;
/** NGHTTP2_CANCEL is the CANCEL error code. */
export const NGHTTP2_CANCEL = 0x8;
/** NGHTTP2_ENHANCE_YOUR_CALM is the ENHANCE_YOUR_CALM error code. */
export const NGHTTP2_ENHANCE_YOUR_CALM = 0xb;
/** NGHTTP2_FLAG_END_STREAM is the END_STREAM flag of HEADERS and DATA frames. */
export const NGHTTP2_FLAG_END_STREAM = 0x1;
