import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnvelopeError } from '#lib/envelope/errors.ts';
import { type LambdaMessageAttributes, parseEnvelope } from '#lib/envelope/parse.ts';

const attributeArb: fc.Arbitrary<LambdaMessageAttributes> = fc.dictionary(
  fc.oneof(fc.constantFrom('source', 'id', 'type', 'cti.failure'), fc.string({ maxLength: 8 })),
  fc.record(
    {
      dataType: fc.constantFrom('String', 'Number', 'Binary', 'String.x'),
      stringValue: fc.string({ maxLength: 12 }),
      binaryValue: fc.base64String({ maxLength: 8 }),
    },
    { requiredKeys: ['dataType'] },
  ),
  { maxKeys: 5 },
);

/** Bodies shaped like each envelope kind, with arbitrary (often wrong) field values. */
const shapedBodyArb = fc.oneof(
  fc.record(
    { specversion: fc.jsonValue(), source: fc.jsonValue(), id: fc.jsonValue(), data: fc.jsonValue() },
    {
      requiredKeys: ['specversion'],
    },
  ),
  fc.record(
    { source: fc.jsonValue(), id: fc.jsonValue(), 'detail-type': fc.jsonValue(), detail: fc.jsonValue() },
    {
      requiredKeys: ['detail-type', 'detail'],
    },
  ),
  fc.record({
    Type: fc.constant('Notification'),
    TopicArn: fc.string(),
    MessageId: fc.oneof(fc.string(), fc.jsonValue()),
    Message: fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    ),
    MessageAttributes: fc.jsonValue(),
  }),
  fc.jsonValue(),
);

function parseOrEnvelopeError(input: Parameters<typeof parseEnvelope>[0]): void {
  try {
    parseEnvelope(input);
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
  }
}

describe('parseEnvelope properties', () => {
  it('throws nothing but EnvelopeError for any string body', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), attributeArb, (body, attributes) => {
        parseOrEnvelopeError({ body, messageId: 'm', attributes });
      }),
      { numRuns: 300 },
    );
  });

  it('throws nothing but EnvelopeError for any JSON body, shaped or not', () => {
    fc.assert(
      fc.property(
        shapedBodyArb,
        attributeArb,
        fc.option(fc.string(), { nil: undefined }),
        (value, attributes, stamped) => {
          parseOrEnvelopeError({
            body: JSON.stringify(value) ?? 'null',
            messageId: 'm',
            attributes,
            stampedEventId: stamped,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never quotes the body in an error message', () => {
    const marker = 'SECRET_MARKER_42';
    fc.assert(
      fc.property(shapedBodyArb, fc.boolean(), (value, corrupt) => {
        const json = JSON.stringify({ wrap: value, [marker]: marker, specversion: corrupt ? 1 : '1.0' });
        const body = corrupt ? `${json}${marker}` : json;
        try {
          parseEnvelope({ body, messageId: 'm', attributes: {} });
        } catch (error) {
          expect((error as Error).message).not.toContain(marker);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the same identity across a DLQ round trip when the stamped id is given back', () => {
    fc.assert(
      fc.property(
        shapedBodyArb,
        attributeArb,
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        (value, attributes, firstMessageId, replayMessageId) => {
          // Prepare: raw bodies need a source attribute to parse at all.
          const attrs = { ...attributes, source: { dataType: 'String', stringValue: 'src' } };
          const body = JSON.stringify(value) ?? 'null';
          let first: ReturnType<typeof parseEnvelope>;
          try {
            first = parseEnvelope({ body, messageId: firstMessageId, attributes: attrs });
          } catch (error) {
            if (error instanceof EnvelopeError) return;
            throw error;
          }

          // Act: the replay arrives with a new SQS message id and the id stamped on the first trip.
          const replay = parseEnvelope({
            body,
            messageId: replayMessageId,
            attributes: attrs,
            stampedEventId: first.id,
          });

          // Assess
          expect({ source: replay.source, id: replay.id }).toEqual({ source: first.source, id: first.id });
        },
      ),
      { numRuns: 300 },
    );
  });
});
