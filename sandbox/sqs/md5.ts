import { createHash } from 'node:crypto';

/**
 * The digests SQS returns with SendMessage and ReceiveMessage, computed exactly as the service does so the
 * SDKs' checksum validation passes.
 */

/** A message (or message system) attribute value as the emulator stores it; binary values decoded. */
export interface StoredAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

/** MD5 of the UTF-8 bytes of a message body, lower-case hex (`MD5OfMessageBody` / `MD5OfBody`). */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

const STRING_TRANSPORT = 1;
const BINARY_TRANSPORT = 2;

/**
 * MD5 of a set of message attributes (`MD5OfMessageAttributes`, and `MD5OfMessageSystemAttributes`), the
 * documented algorithm: attributes sorted by name (code-unit order); for each, a 4-byte big-endian length
 * and the UTF-8 bytes of the name, the same for the DataType, one byte transport type (1 for String and
 * Number types, 2 for Binary types, custom labels included), then length and bytes of the value.
 *
 * Returns undefined for an empty set: SQS omits the digest when there are no attributes.
 */
export function md5OfMessageAttributes(
  attributes: Readonly<Record<string, StoredAttributeValue>>,
): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  for (const name of names) {
    const value = attributes[name] as StoredAttributeValue;
    hash.update(lengthPrefixed(Buffer.from(name, 'utf8')));
    hash.update(lengthPrefixed(Buffer.from(value.DataType, 'utf8')));
    if (isBinaryType(value.DataType)) {
      hash.update(Buffer.of(BINARY_TRANSPORT));
      hash.update(lengthPrefixed(value.BinaryValue ?? Buffer.alloc(0)));
    } else {
      hash.update(Buffer.of(STRING_TRANSPORT));
      hash.update(lengthPrefixed(Buffer.from(value.StringValue ?? '', 'utf8')));
    }
  }
  return hash.digest('hex');
}

/** `Binary` and `Binary.<custom label>` travel as binary; everything else (String, Number) as a string. */
export function isBinaryType(dataType: string): boolean {
  return dataType === 'Binary' || dataType.startsWith('Binary.');
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([prefix, bytes]);
}
