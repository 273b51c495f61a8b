/** TOKEN marks the bytes allowed in an RFC 9110 token (method, header name): tchar. */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** FIELD_VALUE marks the bytes allowed in a field value: VCHAR, obs-text, SP and HTAB (no CR, LF, NUL). */
export const FIELD_VALUE = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1;
FIELD_VALUE[0x20] = 1;
FIELD_VALUE[0x09] = 1;

/** TARGET marks the bytes allowed in a request target: visible ASCII only. */
export const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;

/** HOST marks the bytes allowed in a Host value: reg-name, IP literals and a port. */
export const HOST = new Uint8Array(256);
for (const c of "-._~!$&'()*+;=:[]%") HOST[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) HOST[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) HOST[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) HOST[c] = 1;
HOST[0x2c] = 0; // a comma would make a list

/** isToken tells whether every character of `value` is a tchar and it is not empty. */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (TOKEN[value.charCodeAt(i)] !== 1) return false;
  return true;
}
