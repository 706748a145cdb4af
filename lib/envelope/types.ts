/** Every upstream message, whatever its shape, is normalised to this before rules see it. */
export interface Envelope {
  /** The upstream system (CloudEvents `source`, EventBridge `source`, SNS TopicArn or the `source` attribute). */
  source: string;
  /** The logical event id: stable across redeliveries, DLQ round trips and replays. */
  id: string;
  /** Event type (CloudEvents `type`, EventBridge `detail-type`, SNS Subject or `type` attribute); '' if none. */
  type: string;
  /** Event time, ISO-8601; '' if the message carries none. */
  time: string;
  /** The event payload. */
  data: unknown;
  /** The SQS message attributes that are strings/numbers (minus the service's own `cti.*` ones). */
  attributes: Record<string, string>;
  /** Which shape the message had. */
  kind: 'cloudevents' | 'eventbridge' | 'sns' | 'raw';
}
