import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SpikedriveError } from '../../../src/util/index.ts';

/**
 * Reading a table: a JSON file whose top level is an array of objects.
 *
 * Small files are read whole and parsed with one `JSON.parse`. Files of 0.5–1 GB (trainval's
 * sample_data, ego_pose, sample_annotation) exceed V8's maximum string length, so they are streamed: a
 * byte scanner finds the boundaries of the top-level objects and hands runs of complete objects (a few
 * MB at a time) to one `JSON.parse` per run. Hand-written rather than `stream-json` because this is the
 * hot path of loading trainval and the batched native parse is several times faster than a token stream
 * (measured in docs/data.md); the scanner only tracks strings and nesting, `JSON.parse` still validates.
 */

/** Where a byte sits in a file, for error messages (1-based line and column). */
export interface FilePosition {
  line: number;
  column: number;
  byteOffset: number;
}

export interface JsonArrayReadOptions {
  /** Files at least this large are streamed (default 16 MiB). 0 streams every file. */
  streamThresholdBytes?: number;
  /** Bytes read per chunk when streaming (default 8 MiB). */
  chunkBytes?: number;
}

/** Receives parsed objects in file order; `firstIndex` is the array index of `records[0]`. */
export type RecordBatchSink = (records: unknown[], firstIndex: number) => void;

const DEFAULT_STREAM_THRESHOLD = 16 * 1024 * 1024;
const DEFAULT_CHUNK = 8 * 1024 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === NEWLINE || c === 0x0d || c === 0x09;
}

function malformed(file: string, what: string, position: FilePosition | undefined, cause?: unknown) {
  const where = position ? ` at line ${position.line}, column ${position.column}` : '';
  return new SpikedriveError(`${file} is not valid JSON${where}: ${what}`, {
    subject: file,
    fix: 'Re-download or regenerate this table; every nuScenes table is a JSON array of objects.',
    cause,
  });
}

/** Line and column of a UTF-16 offset in a string (JSON.parse reports string offsets). */
export function positionInText(text: string, offset: number): FilePosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === NEWLINE) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1, byteOffset: Buffer.byteLength(text.slice(0, end)) };
}

/** Line and column of a byte offset in a file, found by reading it up to there (used for errors only). */
export function positionInFile(path: string, byteOffset: number): FilePosition {
  const fd = openSync(path, 'r');
  try {
    let line = 1;
    let lineStartByte = 0;
    const chunk = Buffer.allocUnsafe(1 << 20);
    let offset = 0;
    while (offset < byteOffset) {
      const read = readSync(fd, chunk, 0, Math.min(chunk.length, byteOffset - offset), offset);
      if (read === 0) break;
      for (let at = chunk.indexOf(NEWLINE, 0); at >= 0 && at < read; at = chunk.indexOf(NEWLINE, at + 1)) {
        line++;
        lineStartByte = offset + at + 1;
      }
      offset += read;
    }
    // Columns count characters, not bytes: skip UTF-8 continuation bytes.
    const tail = Buffer.allocUnsafe(Math.max(0, byteOffset - lineStartByte));
    readSync(fd, tail, 0, tail.length, lineStartByte);
    let column = 1;
    for (const b of tail) if ((b & 0xc0) !== 0x80) column++;
    return { line, column, byteOffset };
  } finally {
    closeSync(fd);
  }
}

/**
 * Offset of the first syntax error in JSON text, by a small recursive-descent check. Used only after
 * JSON.parse has failed, because V8's messages do not always carry a position. Hand-written: it has to
 * report the offset, which no JSON library here exposes.
 */
export function findJsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    i++;
    while (i < n && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= n) fail();
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (!m || m[0].length === 0) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else number();
  };
  try {
    value();
    ws();
    return Math.min(i, n);
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, n) : 0;
  }
}

/** The offset of a JSON.parse error: V8's "at position N" when given, else found by findJsonErrorOffset. */
function errorOffset(error: unknown, text: string): number | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const position = /position (\d+)/.exec(message);
  if (position) return Number(position[1]);
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) {
    const wanted = Number(lineColumn[1]);
    let line = 1;
    let i = 0;
    while (line < wanted && i < text.length) {
      if (text.charCodeAt(i) === NEWLINE) line++;
      i++;
    }
    return i + Number(lineColumn[2]) - 1;
  }
  if (/Unexpected end of JSON input/.test(message)) return text.length;
  return findJsonErrorOffset(text);
}

function parseWithPosition(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const offset = errorOffset(error, text);
    const position = offset === undefined ? undefined : positionInText(text, offset);
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw malformed(file, reason, position, error);
  }
}

function checkTopLevel(value: unknown, file: string): unknown[] {
  if (!Array.isArray(value)) {
    throw malformed(file, `the top level is ${value === null ? 'null' : typeof value}, not an array`, {
      line: 1,
      column: 1,
      byteOffset: 0,
    });
  }
  return value;
}

/**
 * Splits the bytes of a top-level JSON array into runs of complete elements. Push chunks in order, then
 * call `end()`. Elements must be objects (tables hold nothing else).
 */
export class JsonArrayScanner {
  private readonly file: string;
  private readonly sink: RecordBatchSink;
  /** Bytes not yet handed on (they start at the first unfinished element). */
  private pending: Buffer = Buffer.alloc(0);
  /** File offset of pending[0]. */
  private pendingOffset = 0;
  private state: 'start' | 'array' | 'done' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** At depth 1: an element is expected next (after '[' or ','), or a comma/']' is. */
  private expectElement = true;
  private sawElement = false;
  private elementCount = 0;
  /** Scan position inside pending. */
  private scanned = 0;
  private readonly path: string;

  constructor(path: string, file: string, sink: RecordBatchSink) {
    this.path = path;
    this.file = file;
    this.sink = sink;
  }

  get count(): number {
    return this.elementCount;
  }

  /** File position of pending[index]; lines are counted only here, on errors, by re-reading the file. */
  private position(indexInPending: number): FilePosition {
    return positionInFile(this.path, this.pendingOffset + indexInPending);
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.scan();
  }

  /** A reusable read buffer: the unfinished bytes move to its front and the next read goes after them. */
  private work: Buffer = Buffer.alloc(0);

  /** Where the next `bytes` read should go (no per-chunk allocation or concatenation). */
  prepare(bytes: number): { buffer: Buffer; offset: number } {
    const keep = this.pending.length;
    if (this.work.length < keep + bytes) {
      const next = Buffer.allocUnsafe(keep + bytes);
      this.pending.copy(next, 0);
      this.work = next;
    } else if (keep > 0) {
      // copy() handles the overlap when pending already lies inside work.
      this.pending.copy(this.work, 0);
    }
    this.pending = this.work.subarray(0, keep);
    return { buffer: this.work, offset: keep };
  }

  /** Scans after `bytesRead` bytes were read into the buffer `prepare` returned. */
  commit(bytesRead: number): void {
    const end = this.pending.length + bytesRead;
    this.pending = this.work.subarray(0, end);
    this.scan();
  }

  end(): number {
    if (this.state === 'start') {
      throw malformed(this.file, 'the file is empty', { line: 1, column: 1, byteOffset: 0 });
    }
    if (this.state !== 'done') {
      throw malformed(
        this.file,
        'unexpected end of file (the array is not closed)',
        this.position(this.pending.length),
      );
    }
    for (let i = this.scanned; i < this.pending.length; i++) {
      if (!isWhitespace(this.pending[i])) {
        throw malformed(this.file, 'unexpected data after the closing ]', this.position(i));
      }
    }
    return this.elementCount;
  }

  private scan(): void {
    const buf = this.pending;
    const n = buf.length;
    let i = this.scanned;
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    /** Start (in buf) of the first element not yet handed on, or -1 (pending starts at an unfinished one). */
    let runStart = depth > 1 ? 0 : -1;
    /** Start (in buf) of the element being scanned. */
    let elementStart = 0;
    /** End (exclusive) of the last complete element in this run. */
    let runEnd = -1;
    let runCount = 0;
    if (this.state === 'start') {
      while (i < n && isWhitespace(buf[i])) i++;
      if (i === n) {
        this.scanned = i;
        return;
      }
      if (buf[i] !== OPEN_BRACKET) {
        throw malformed(this.file, 'the top level is not an array (expected [)', this.position(i));
      }
      this.state = 'array';
      depth = 1;
      i++;
    }
    while (i < n && this.state === 'array') {
      const c = buf[i];
      if (depth === 1) {
        // Between elements: only whitespace, commas, '{' and ']' are allowed.
        if (isWhitespace(c)) {
          i++;
          continue;
        }
        if (c === OPEN_BRACE) {
          if (!this.expectElement) {
            throw malformed(this.file, 'expected , or ] between table records', this.position(i));
          }
          if (runStart < 0) runStart = i;
          elementStart = i;
          depth = 2;
          this.expectElement = false;
          i++;
          continue;
        }
        if (c === COMMA) {
          if (this.expectElement) throw malformed(this.file, 'unexpected , (empty record)', this.position(i));
          this.expectElement = true;
          i++;
          continue;
        }
        if (c === CLOSE_BRACKET) {
          if (this.expectElement && this.sawElement) {
            throw malformed(this.file, 'trailing , before ]', this.position(i));
          }
          this.state = 'done';
          i++;
          break;
        }
        throw malformed(
          this.file,
          `table records must be objects, found ${JSON.stringify(String.fromCharCode(c))}`,
          this.position(i),
        );
      }
      // Inside an element: track strings and nesting only; JSON.parse validates the rest.
      if (inString) {
        // Only for a string that began in an earlier chunk.
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) {
        // Jump to the closing quote with the native indexOf (most bytes are string contents): a quote
        // closes the string unless an odd run of backslashes precedes it.
        let q = buf.indexOf(QUOTE, i + 1);
        while (q >= 0) {
          let k = q - 1;
          while (k > i && buf[k] === BACKSLASH) k--;
          if (((q - 1 - k) & 1) === 0) break;
          q = buf.indexOf(QUOTE, q + 1);
        }
        if (q >= 0) {
          i = q + 1;
          continue;
        }
        inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 1) {
          if (c !== CLOSE_BRACE) throw malformed(this.file, 'mismatched ] inside a record', this.position(i));
          runEnd = i + 1;
          runCount++;
          this.sawElement = true;
        }
      }
      i++;
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    if (runCount > 0) this.emit(runStart, runEnd, runCount);
    // Keep only the unfinished element (or nothing, between elements).
    const keepFrom = depth > 1 ? elementStart : i;
    this.advance(keepFrom);
    i -= keepFrom;
    this.scanned = i;
  }

  /** Moves pending's start forward by `count` bytes. */
  private advance(count: number): void {
    if (count === 0) return;
    this.pendingOffset += count;
    this.pending = this.pending.subarray(count);
  }

  private emit(start: number, end: number, count: number): void {
    // latin1 decodes ASCII exactly and faster than utf8 (nuScenes tables are ASCII).
    const bytes = this.pending.subarray(start, end);
    const text = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
    let records: unknown[];
    try {
      records = JSON.parse(`[${text}]`) as unknown[];
    } catch (error) {
      const wrapped = `[${text}]`;
      const offset = errorOffset(error, wrapped);
      const bytes = offset === undefined ? 1 : Buffer.byteLength(wrapped.slice(0, offset));
      // bytes - 1: the wrapping '[' is not in the file.
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw malformed(this.file, reason, this.position(start + Math.max(0, bytes - 1)), error);
    }
    if (records.length !== count) {
      throw malformed(this.file, 'records are not separated by single commas', this.position(start));
    }
    const first = this.elementCount;
    this.elementCount += count;
    this.sink(records, first);
  }
}

/** Reads a whole table file into an array (small tables). */
export function readJsonArrayWhole(path: string, file: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') throw malformed(file, 'the file is empty', { line: 1, column: 1, byteOffset: 0 });
  return checkTopLevel(parseWithPosition(text, file), file);
}

/**
 * Reads a table file synchronously and hands its records on in batches. Returns the record count.
 * `file` is the name used in error messages (e.g. "v1.0-mini/sample.json").
 */
export function readJsonArraySync(
  path: string,
  file: string,
  sink: RecordBatchSink,
  options: JsonArrayReadOptions = {},
): number {
  const threshold = options.streamThresholdBytes ?? DEFAULT_STREAM_THRESHOLD;
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < threshold) {
      closeSync(fd);
      const records = readJsonArrayWhole(path, file);
      if (records.length > 0) sink(records, 0);
      return records.length;
    }
    const scanner = new JsonArrayScanner(path, file, sink);
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
    for (;;) {
      const { buffer, offset } = scanner.prepare(chunkBytes);
      const read = readSync(fd, buffer, offset, chunkBytes, null);
      if (read === 0) break;
      scanner.commit(read);
    }
    closeSync(fd);
    return scanner.end();
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    throw error;
  }
}

/** The same as `readJsonArraySync`, yielding to the event loop between chunks. */
export async function readJsonArray(
  path: string,
  file: string,
  sink: RecordBatchSink,
  options: JsonArrayReadOptions = {},
): Promise<number> {
  const threshold = options.streamThresholdBytes ?? DEFAULT_STREAM_THRESHOLD;
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size < threshold) {
      const text = await handle.readFile('utf8');
      if (text.trim() === '')
        throw malformed(file, 'the file is empty', { line: 1, column: 1, byteOffset: 0 });
      const records = checkTopLevel(parseWithPosition(text, file), file);
      if (records.length > 0) sink(records, 0);
      return records.length;
    }
    const scanner = new JsonArrayScanner(path, file, sink);
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
    for (;;) {
      const { buffer, offset } = scanner.prepare(chunkBytes);
      const { bytesRead } = await handle.read(buffer, offset, chunkBytes, null);
      if (bytesRead === 0) break;
      scanner.commit(bytesRead);
    }
    return scanner.end();
  } finally {
    await handle.close();
  }
}
