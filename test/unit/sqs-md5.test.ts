import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5OfBody, md5OfMessageAttributes } from '#sandbox/sqs/md5.ts';

describe('SQS message digests', () => {
  it('digests a body as the MD5 of its UTF-8 bytes', () => {
    // Prepare
    const body = 'héllo ✓';

    // Act
    const digest = md5OfBody(body);

    // Assess
    expect(digest).toBe(createHash('md5').update(Buffer.from(body, 'utf8')).digest('hex'));
  });

  // Vectors: the attribute examples of the SQS Developer Guide, with the digests SQS returns for them.
  it('matches the digest SQS returns for one String attribute', () => {
    // Prepare
    const attributes = { SellerName: { DataType: 'String', StringValue: 'Example Store' } };

    // Act
    const digest = md5OfMessageAttributes(attributes);

    // Assess
    expect(digest).toBe('cd28f3b68aeee4b2eac9c66f2f694b58');
  });

  it('sorts attributes by name before digesting (String and Number)', () => {
    // Prepare: given out of order on purpose
    const attributes = {
      SellerName: { DataType: 'String', StringValue: 'Example Store' },
      Region: { DataType: 'String', StringValue: 'WA' },
      PricePerGallon: { DataType: 'Number', StringValue: '1.99' },
      PostalCode: { DataType: 'String', StringValue: '99065' },
      City: { DataType: 'String', StringValue: 'Any City' },
    };

    // Act
    const digest = md5OfMessageAttributes(attributes);

    // Assess
    expect(digest).toBe('10809b55e3d9b22c17220b7dbaf283ef');
  });

  it('encodes a Binary attribute with transport type 2 and its raw bytes', () => {
    // Prepare: the documented byte layout, spelled out by hand
    const value = Buffer.from([0x00, 0xff, 0x10]);
    const expected = Buffer.concat([
      Buffer.from([0, 0, 0, 3]),
      Buffer.from('Bin', 'utf8'),
      Buffer.from([0, 0, 0, 10]),
      Buffer.from('Binary.gif', 'utf8'),
      Buffer.from([2]),
      Buffer.from([0, 0, 0, 3]),
      value,
    ]);

    // Act
    const digest = md5OfMessageAttributes({ Bin: { DataType: 'Binary.gif', BinaryValue: value } });

    // Assess
    expect(digest).toBe(createHash('md5').update(expected).digest('hex'));
  });

  it('omits the digest when there are no attributes', () => {
    // Act
    const digest = md5OfMessageAttributes({});

    // Assess
    expect(digest).toBeUndefined();
  });
});
