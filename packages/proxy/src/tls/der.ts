/** Der is one DER element (ITU-T X.690): its tag, where its content starts and where it ends, in `buf`. */
export interface Der {
  readonly buf: Buffer;
  readonly tag: number;
  /** start is where the element (tag byte) starts; content is where its content starts; end is past it. */
  readonly start: number;
  readonly content: number;
  readonly end: number;
}

/** readDer reads the DER element at `at` in `buf`; it throws on a truncated or indefinite-length element. */
export function readDer(buf: Buffer, at = 0): Der {
  if (at + 2 > buf.length) throw new Error('DER: truncated');
  const tag = buf[at]!;
  let length = buf[at + 1]!;
  let content = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || content + bytes > buf.length) throw new Error('DER: bad length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + buf[content + i]!;
    content += bytes;
  }
  const end = content + length;
  if (end > buf.length) throw new Error('DER: truncated');
  return { buf, tag, start: at, content, end };
}

/** derChildren lists the elements inside a constructed element. */
export function derChildren(parent: Der): Der[] {
  const children: Der[] = [];
  for (let at = parent.content; at < parent.end; ) {
    const child = readDer(parent.buf, at);
    if (child.end > parent.end) throw new Error('DER: child past its parent');
    children.push(child);
    at = child.end;
  }
  return children;
}

/** derBytes returns an element whole (tag, length, content). */
export function derBytes(element: Der): Buffer {
  return element.buf.subarray(element.start, element.end);
}

/** derValue returns an element's content. */
export function derValue(element: Der): Buffer {
  return element.buf.subarray(element.content, element.end);
}

/** encodeDer makes a DER element of `tag` holding `parts`. */
export function encodeDer(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  const n = content.length;
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

/** derTime reads a UTCTime (0x17) or GeneralizedTime (0x18) as milliseconds since the epoch. */
export function derTime(element: Der): number {
  const text = derValue(element).toString('latin1');
  const m =
    element.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
  if (m === null) throw new Error(`DER: bad time ${text}`);
  let year = Number(m[1]);
  if (element.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}
