/** UTF-8 length of `text`, without encoding it when its length alone decides. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * A message's stored size in UTF-8 bytes: its body, headers, key and id as stored. Backlog
 * limits (max_bytes), stats and byte budgets all count this.
 */
export function storedMessageBytes(m: { body: string; headers: string | null; key: string | null; id: string }): number {
  return utf8Length(m.body) + (m.headers === null ? 0 : utf8Length(m.headers)) + (m.key === null ? 0 : utf8Length(m.key)) + utf8Length(m.id);
}
