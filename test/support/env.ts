/** The environment serverless.yml gives the ingest function, with test resource names (no network). */
export const TEST_LANE_QUEUES = {
  INGEST_QUEUE_URL: 'https://sqs.test/1/ingest',
  INGEST_URGENT_QUEUE_URL: 'https://sqs.test/1/urgent',
  INGEST_BULK_QUEUE_URL: 'https://sqs.test/1/bulk',
};

export const TEST_INGEST_ENV = {
  ...TEST_LANE_QUEUES,
  RULES_TABLE: 'rules',
  IDEMPOTENCY_TABLE: 'idempotency',
  LEDGER_TABLE: 'ledger',
  TRANSFERS_TABLE: 'transfers',
  DLQ_URL: 'https://sqs.test/1/dlq',
  BUDGET_TABLE: 'budget',
};
