import { StringDecoder } from 'node:string_decoder';

/** One physical line (without its `\n` or `\r\n`), or the report of one that was too long. */
export type Line = { readonly line: number; readonly text: string; readonly tooLong?: undefined } | { readonly line: number; readonly tooLong: number };

/** The lines of one input buffer. */
export interface LineBatch {
  readonly lines: Line[];
  /** Input bytes consumed so far. */
  readonly bytesRead: number;
}

/**
 * Splits a byte stream into numbered lines (from 1), decoding UTF-8 and dropping a leading
 * BOM. A line longer than `maxLineLength` characters is never held whole: its characters are
 * dropped as they arrive and it is reported once, as `{ tooLong: length }`, so one runaway
 * line (a binary file, a missing newline) cannot exhaust memory.
 *
 * Lines are yielded per input buffer: the input's own buffering (64 KiB file reads) bounds
 * what is held, and a promise per line would cost more than the line's parsing.
 */
export async function* splitLines(source: AsyncIterable<Buffer | string>, maxLineLength: number): AsyncGenerator<LineBatch> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  /** Length of the over-long line being skipped, or -1. */
  let skipping = -1;
  let lineNo = 0;
  let bytesRead = 0;
  let first = true;
  const take = (text: string, out: Line[]): void => {
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      lineNo++;
      if (skipping >= 0) {
        out.push({ line: lineNo, tooLong: skipping + nl - start });
        skipping = -1;
      } else {
        let line = carry.length > 0 ? carry + text.slice(start, nl) : text.slice(start, nl);
        carry = '';
        if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
        out.push(line.length > maxLineLength ? { line: lineNo, tooLong: line.length } : { line: lineNo, text: line });
      }
      start = nl + 1;
    }
    const rest = text.length - start;
    if (skipping >= 0) skipping += rest;
    else if (rest > 0) {
      carry += text.slice(start);
      if (carry.length > maxLineLength + 1) {
        skipping = carry.length;
        carry = '';
      }
    }
  };
  for await (const chunk of source) {
    bytesRead += chunk.length;
    const lines: Line[] = [];
    take(typeof chunk === 'string' ? chunk : decoder.write(chunk), lines);
    if (lines.length > 0) yield { lines, bytesRead };
  }
  const lines: Line[] = [];
  take(decoder.end(), lines);
  if (skipping >= 0) lines.push({ line: ++lineNo, tooLong: skipping });
  else if (carry.length > 0) {
    const line = carry.charCodeAt(carry.length - 1) === 13 ? carry.slice(0, -1) : carry;
    lines.push(line.length > maxLineLength ? { line: ++lineNo, tooLong: line.length } : { line: ++lineNo, text: line });
  }
  if (lines.length > 0) yield { lines, bytesRead };
}
