/**
 * Point Cloud Data (PCD v0.7) files, as nuScenes stores radar: an ASCII header of `KEY values` lines up to
 * `DATA`, then the points. Only `DATA binary` (little-endian, one packed record per point) is read; `ascii`
 * and `binary_compressed` are refused with a clear error. Hand-written because the npm PCD readers either
 * pull in a whole loader framework (@loaders.gl) or drop the integer fields radar needs.
 */
import { SpikedriveError } from '../../../src/util/index.ts';

export type PcdFieldType = 'F' | 'I' | 'U';

export interface PcdField {
  name: string;
  /** Bytes per value: F 2/4/8, I and U 1/2/4/8. */
  size: number;
  type: PcdFieldType;
  /** Values per point; only 1 is supported (as the devkit). */
  count: number;
}

export interface PcdHeader {
  version: string;
  fields: PcdField[];
  width: number;
  height: number;
  /** 7 numbers: translation (3) and quaternion w x y z (4). */
  viewpoint: number[];
  points: number;
  data: 'ascii' | 'binary' | 'binary_compressed';
  /** Byte offset of the first point in the file. */
  dataOffset: number;
  /** Bytes per point record. */
  recordSize: number;
}

export interface PcdCloud {
  header: PcdHeader;
  /** One column per field, `points` long; integers and floats alike as float64 (exact up to 2^53). */
  columns: Float64Array[];
}

const VALID_SIZES: Readonly<Record<PcdFieldType, readonly number[]>> = {
  F: [2, 4, 8],
  I: [1, 2, 4, 8],
  U: [1, 2, 4, 8],
};

function pcdError(source: string, message: string, fix: string): SpikedriveError {
  return new SpikedriveError(`${source}: ${message}`, { subject: source, fix });
}

const REWRITE_FIX = 'Re-extract the file, or rewrite it as a binary PCD v0.7 (see encodePcd).';

/** Reads the header of a PCD file; `source` names the file in errors. */
export function parsePcdHeader(bytes: Uint8Array, source = 'PCD data'): PcdHeader {
  const entries = new Map<string, string[]>();
  const decoder = new TextDecoder();
  let offset = 0;
  let lines = 0;
  let dataSeen = false;
  // The header is ASCII lines; the binary block starts right after the newline that ends the DATA line.
  // A real header has about a dozen lines; stop early on a file that is not PCD at all.
  while (offset < bytes.length && !dataSeen && lines++ < 64) {
    let end = bytes.indexOf(0x0a, offset);
    if (end < 0) end = bytes.length;
    const line = decoder.decode(bytes.subarray(offset, end)).trim();
    offset = end + 1;
    if (line === '' || line.startsWith('#')) continue;
    const [key, ...values] = line.split(/\s+/);
    entries.set(key.toUpperCase(), values);
    if (key.toUpperCase() === 'DATA') dataSeen = true;
  }
  if (!dataSeen) {
    throw pcdError(source, 'is not a PCD file: no DATA line in its header', REWRITE_FIX);
  }
  const need = (key: string): string[] => {
    const values = entries.get(key);
    if (values === undefined || values.length === 0) {
      throw pcdError(source, `PCD header has no ${key} line`, REWRITE_FIX);
    }
    return values;
  };
  const integer = (key: string, value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw pcdError(source, `PCD ${key} '${value}' is not a whole number`, REWRITE_FIX);
    return n;
  };
  const names = need('FIELDS');
  const sizes = need('SIZE');
  const types = need('TYPE');
  const counts = entries.get('COUNT') ?? names.map(() => '1');
  if (sizes.length !== names.length || types.length !== names.length || counts.length !== names.length) {
    throw pcdError(
      source,
      `PCD header lists ${names.length} FIELDS but ${sizes.length} SIZE, ${types.length} TYPE and ${counts.length} COUNT values`,
      REWRITE_FIX,
    );
  }
  const fields: PcdField[] = names.map((name, i) => {
    const type = types[i].toUpperCase();
    const size = integer('SIZE', sizes[i]);
    const count = integer('COUNT', counts[i]);
    if (type !== 'F' && type !== 'I' && type !== 'U') {
      throw pcdError(source, `PCD field ${name} has TYPE '${types[i]}'; only F, I and U exist`, REWRITE_FIX);
    }
    if (!VALID_SIZES[type].includes(size)) {
      throw pcdError(
        source,
        `PCD field ${name} has TYPE ${type} with SIZE ${size}; ${type} allows ${VALID_SIZES[type].join('/')}`,
        REWRITE_FIX,
      );
    }
    if (count !== 1) {
      throw pcdError(source, `PCD field ${name} has COUNT ${count}; only COUNT 1 is supported`, REWRITE_FIX);
    }
    return { name, size, type, count };
  });
  const width = integer('WIDTH', need('WIDTH')[0]);
  const height = integer('HEIGHT', (entries.get('HEIGHT') ?? ['1'])[0]);
  const pointsValue = entries.get('POINTS');
  const points = pointsValue === undefined ? width * height : integer('POINTS', pointsValue[0]);
  if (points !== width * height) {
    throw pcdError(
      source,
      `PCD POINTS ${points} differs from WIDTH × HEIGHT = ${width * height}`,
      REWRITE_FIX,
    );
  }
  const data = need('DATA')[0].toLowerCase();
  if (data !== 'ascii' && data !== 'binary' && data !== 'binary_compressed') {
    throw pcdError(source, `PCD DATA '${data}' is not ascii, binary or binary_compressed`, REWRITE_FIX);
  }
  const viewpoint = (entries.get('VIEWPOINT') ?? ['0', '0', '0', '1', '0', '0', '0']).map(Number);
  return {
    version: (entries.get('VERSION') ?? [''])[0],
    fields,
    width,
    height,
    viewpoint,
    points,
    data,
    dataOffset: offset,
    recordSize: fields.reduce((sum, f) => sum + f.size * f.count, 0),
  };
}

// Hand-written: DataView.getFloat16 arrives only in Node 24, and half floats are legal in PCD.
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

type Reader = (view: DataView, offset: number) => number;

function readerFor(field: PcdField): Reader {
  switch (`${field.type}${field.size}`) {
    case 'F2':
      return (v, o) => halfToFloat(v.getUint16(o, true));
    case 'F4':
      return (v, o) => v.getFloat32(o, true);
    case 'F8':
      return (v, o) => v.getFloat64(o, true);
    case 'I1':
      return (v, o) => v.getInt8(o);
    case 'I2':
      return (v, o) => v.getInt16(o, true);
    case 'I4':
      return (v, o) => v.getInt32(o, true);
    case 'I8':
      return (v, o) => Number(v.getBigInt64(o, true));
    case 'U1':
      return (v, o) => v.getUint8(o);
    case 'U2':
      return (v, o) => v.getUint16(o, true);
    case 'U4':
      return (v, o) => v.getUint32(o, true);
    default:
      return (v, o) => Number(v.getBigUint64(o, true));
  }
}

/** Parses a binary PCD file into one float64 column per field. */
export function parsePcd(bytes: Uint8Array, source = 'PCD data'): PcdCloud {
  const header = parsePcdHeader(bytes, source);
  if (header.data !== 'binary') {
    throw pcdError(
      source,
      `PCD DATA is '${header.data}'; only 'binary' is supported (nuScenes radar files are binary)`,
      'Convert the file to DATA binary, e.g. with pcl_convert_pcd_ascii_binary <in> <out> 1.',
    );
  }
  const needed = header.points * header.recordSize;
  const available = bytes.length - header.dataOffset;
  if (available < needed) {
    throw pcdError(
      source,
      `PCD data is truncated: ${header.points} points of ${header.recordSize} bytes need ${needed} bytes, the file has ${Math.max(available, 0)}`,
      'Re-extract the file; it was cut short.',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + header.dataOffset, needed);
  const columns = header.fields.map(() => new Float64Array(header.points));
  let fieldOffset = 0;
  header.fields.forEach((field, f) => {
    const read = readerFor(field);
    const column = columns[f];
    for (let p = 0, o = fieldOffset; p < header.points; p++, o += header.recordSize)
      column[p] = read(view, o);
    fieldOffset += field.size;
  });
  return { header, columns };
}

type Writer = (view: DataView, offset: number, value: number) => void;

function writerFor(field: PcdField): Writer {
  switch (`${field.type}${field.size}`) {
    case 'F4':
      return (v, o, x) => v.setFloat32(o, x, true);
    case 'F8':
      return (v, o, x) => v.setFloat64(o, x, true);
    case 'I1':
      return (v, o, x) => v.setInt8(o, x);
    case 'I2':
      return (v, o, x) => v.setInt16(o, x, true);
    case 'I4':
      return (v, o, x) => v.setInt32(o, x, true);
    case 'I8':
      return (v, o, x) => v.setBigInt64(o, BigInt(Math.trunc(x)), true);
    case 'U1':
      return (v, o, x) => v.setUint8(o, x);
    case 'U2':
      return (v, o, x) => v.setUint16(o, x, true);
    case 'U4':
      return (v, o, x) => v.setUint32(o, x, true);
    case 'U8':
      return (v, o, x) => v.setBigUint64(o, BigInt(Math.trunc(x)), true);
    default:
      throw new RangeError(`cannot write PCD field ${field.name} of TYPE ${field.type} SIZE ${field.size}`);
  }
}

/**
 * Writes a binary PCD v0.7 file with the given fields (COUNT 1) and one column per field. A newline
 * follows the data: the devkit's reader insists on a byte after the last value, so without it the
 * devkit cannot read the file.
 */
export function encodePcd(
  fields: readonly Omit<PcdField, 'count'>[],
  columns: readonly ArrayLike<number>[],
  viewpoint: readonly number[] = [0, 0, 0, 1, 0, 0, 0],
): Uint8Array {
  if (columns.length !== fields.length) {
    throw new RangeError(`encodePcd got ${fields.length} fields but ${columns.length} columns`);
  }
  const n = columns.length > 0 ? columns[0].length : 0;
  if (columns.some((c) => c.length !== n)) throw new RangeError('every PCD column must have the same length');
  const full = fields.map((f) => ({ ...f, count: 1 }));
  const header =
    '# .PCD v0.7 - Point Cloud Data file format\n' +
    'VERSION 0.7\n' +
    `FIELDS ${full.map((f) => f.name).join(' ')}\n` +
    `SIZE ${full.map((f) => f.size).join(' ')}\n` +
    `TYPE ${full.map((f) => f.type).join(' ')}\n` +
    `COUNT ${full.map(() => 1).join(' ')}\n` +
    `WIDTH ${n}\nHEIGHT 1\nVIEWPOINT ${viewpoint.join(' ')}\nPOINTS ${n}\nDATA binary\n`;
  const headerBytes = new TextEncoder().encode(header);
  const recordSize = full.reduce((sum, f) => sum + f.size, 0);
  const out = new Uint8Array(headerBytes.length + n * recordSize + 1);
  out.set(headerBytes, 0);
  const view = new DataView(out.buffer, headerBytes.length, n * recordSize);
  let fieldOffset = 0;
  full.forEach((field, f) => {
    const write = writerFor(field);
    const column = columns[f];
    for (let p = 0, o = fieldOffset; p < n; p++, o += recordSize) write(view, o, column[p]);
    fieldOffset += field.size;
  });
  out[out.length - 1] = 0x0a;
  return out;
}
