/**
 * A minimal ZIP writer (deflate, no extras, no ZIP64) so the cold-start bench can size a Lambda
 * deployment package exactly as uploaded, without a zip tool on the machine.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  data: Buffer;
}

/** DOS date/time of 1980-01-01 00:00: fixed, so the archive (and its size) is reproducible. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DEFLATE = 8;
const VERSION = 20;

interface CommonFields {
  crc: number;
  compressed: number;
  size: number;
  nameLength: number;
}

/**
 * Writes the fields a local file header and a central directory header share, in the same order:
 * flags, method, time, date, CRC-32, compressed size, size, name length (22 bytes from `at`).
 */
function writeCommonFields(header: Buffer, at: number, fields: CommonFields): void {
  header.writeUInt16LE(0x0800, at); // UTF-8 names
  header.writeUInt16LE(DEFLATE, at + 2);
  header.writeUInt16LE(DOS_TIME, at + 4);
  header.writeUInt16LE(DOS_DATE, at + 6);
  header.writeUInt32LE(fields.crc, at + 8);
  header.writeUInt32LE(fields.compressed, at + 12);
  header.writeUInt32LE(fields.size, at + 16);
  header.writeUInt16LE(fields.nameLength, at + 20);
}

/**
 * Builds a ZIP archive.
 * Input: entries (names in forward-slash form, each < 4 GiB).
 * Output: the archive bytes, every entry deflated at level 9 (as the Serverless Framework packages).
 */
export function zip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data, { level: 9 });
    const crc = crc32(entry.data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    writeCommonFields(local, 6, {
      crc,
      compressed: compressed.length,
      size: entry.data.length,
      nameLength: name.length,
    });
    local.writeUInt16LE(0, 28);
    locals.push(local, name, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(VERSION, 4);
    central.writeUInt16LE(VERSION, 6);
    writeCommonFields(central, 8, {
      crc,
      compressed: compressed.length,
      size: entry.data.length,
      nameLength: name.length,
    });
    central.writeUInt32LE(0o100644 * 0x10000, 38); // external attributes: a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
