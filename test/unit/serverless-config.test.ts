// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the fixtures are serverless.yml text, whose ${...} variables are the subject under test.
import { describe, expect, it } from 'vitest';
import {
  loadServerlessConfig,
  parseRate,
  parseServerlessConfig,
  ScheduleExpressionError,
  ServerlessConfigError,
  VariableResolutionError,
} from '#common/serverless-config.ts';

const minimal = (body: string) => `service: svc\nprovider:\n  name: aws\n${body}`;

describe('loadServerlessConfig against the repository serverless.yml', () => {
  it('exposes every resource the sandbox deploys, with intrinsics in long form', () => {
    // Prepare / Act
    const config = loadServerlessConfig({ env: {} });

    // Assess
    const emulated = Object.entries(config.resources.Resources)
      .filter(([, r]) =>
        ['AWS::SQS::Queue', 'AWS::DynamoDB::Table', 'AWS::Events::EventBus', 'AWS::Events::Rule'].includes(
          (r as { Type: string }).Type,
        ),
      )
      .map(([id]) => id);
    expect(emulated.sort()).toEqual(
      [
        'BudgetTable',
        'ContactEventsDeadLetterQueue',
        'ContactEventsQueue',
        'ContactEventsRule',
        'DeadLetterQueue',
        'IdempotencyTable',
        'IngestQueue',
        'IngestUrgentQueue',
        'IngestBulkQueue',
        'LedgerTable',
        'OutcomeBus',
        'RulesTable',
        'TransfersTable',
      ].sort(),
    );
    const ingestQueue = config.resources.Resources.IngestQueue as { Properties: Record<string, unknown> };
    expect(ingestQueue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] },
      maxReceiveCount: 10,
    });
    expect(ingestQueue.Properties.QueueName).toBe('connect-task-ingest-dev-ingest');
    for (const [id, name] of [
      ['IngestUrgentQueue', 'connect-task-ingest-dev-ingest-urgent'],
      ['IngestBulkQueue', 'connect-task-ingest-dev-ingest-bulk'],
    ] as const) {
      const lane = config.resources.Resources[id] as { Properties: Record<string, unknown> };
      expect(lane.Properties.QueueName).toBe(name);
      expect(lane.Properties.RedrivePolicy).toEqual(ingestQueue.Properties.RedrivePolicy);
      expect(lane.Properties.VisibilityTimeout).toBe(ingestQueue.Properties.VisibilityTimeout);
    }
    expect(config.resources.Outputs.IngestQueueUrl).toEqual({ Value: { Ref: 'IngestQueue' } });
    expect(config.provider.environment.INGEST_URGENT_QUEUE_URL).toEqual({ Ref: 'IngestUrgentQueue' });
    expect(config.provider.environment.INGEST_BULK_QUEUE_URL).toEqual({ Ref: 'IngestBulkQueue' });
    expect(config.provider.environment.RULES_TABLE).toEqual({ Ref: 'RulesTable' });
  });

  it('resolves params and self references to typed values on the ingest sqs events, one per lane queue', () => {
    // Act
    const config = loadServerlessConfig({ env: {} });

    // Assess
    const ingest = config.functions.ingest;
    expect(ingest?.handlerModule).toBe('functions/ingest');
    expect(ingest?.handlerExport).toBe('handler');
    expect(ingest?.timeout).toBe(60);
    expect(ingest?.memorySize).toBe(512);
    expect(ingest?.environment.CONNECT_INSTANCE_ID).toBe('11111111-2222-3333-4444-555555555555');
    expect(ingest?.events.map((e) => e.sqs)).toEqual(
      ['IngestUrgentQueue', 'IngestQueue', 'IngestBulkQueue'].map((queue) => ({
        arn: { 'Fn::GetAtt': [queue, 'Arn'] },
        batchSize: 10,
        maximumBatchingWindow: 1,
        maximumConcurrency: 2,
        functionResponseType: 'ReportBatchItemFailures',
        enabled: true,
      })),
    );
  });

  it('names schedules after the requested stage and keeps their input', () => {
    // Act
    const config = loadServerlessConfig({ stage: 'ci', env: {} });

    // Assess
    expect(config.stage).toBe('ci');
    expect(config.functions.transfer?.events[0]?.schedule).toEqual({
      name: 'connect-task-ingest-ci-transfer-sweep',
      rate: ['rate(1 minute)'],
      input: { action: 'sweep' },
      enabled: true,
    });
    expect(config.functions.redrive?.events[0]?.schedule?.rate).toEqual(['rate(5 minutes)']);
  });

  it('lets --param style overrides win over params in the file', () => {
    // Act
    const config = loadServerlessConfig({
      params: { ingestMaxConcurrency: '5', ingestUrgentMaxConcurrency: '3', ingestBulkMaxConcurrency: '4' },
      env: {},
    });

    // Assess: urgent, normal (the ingest queue), bulk.
    expect(config.functions.ingest?.events.map((e) => e.sqs?.maximumConcurrency)).toEqual([3, 5, 4]);
    expect(config.params.ingestMaxConcurrency).toBe('5');
    expect(config.params.startTaskRate).toBe(2);
  });

  it('reports a missing file as a ServerlessConfigError', () => {
    expect(() => loadServerlessConfig({ path: '/nonexistent/serverless.yml' })).toThrow(
      ServerlessConfigError,
    );
  });
});

describe('CloudFormation short tags', () => {
  it('turns every short tag into its long form', () => {
    // Prepare
    const yaml = minimal(`resources:
  Conditions:
    IsProd: !Equals [!Ref Stage, prod]
    NotProd: !Not [!Condition IsProd]
  Resources:
    X:
      Properties:
        a: !Ref Thing
        b: !GetAtt Queue.Arn
        c: !GetAtt [Queue, Arn]
        d: !GetAtt Db.Endpoint.Address
        e: !Sub 'arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:q'
        f: !Sub ['\${A}-x', { A: !Ref Thing }]
        g: !Join ['-', [a, !Ref Thing]]
        h: !If [IsProd, 1, 2]
        i: !Select [0, !GetAZs '']
        j: !Split [',', 'a,b']
        k: !FindInMap [Map, Key, Value]
        l: !ImportValue shared-export
        m: !Base64 hello
        n: !Base64 { 'Fn::Sub': x }
`);

    // Act
    const config = parseServerlessConfig(yaml, { env: {} });

    // Assess
    expect(config.resources.Conditions).toEqual({
      IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
      NotProd: { 'Fn::Not': [{ Condition: 'IsProd' }] },
    });
    expect((config.resources.Resources.X as { Properties: unknown }).Properties).toEqual({
      a: { Ref: 'Thing' },
      b: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      c: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      d: { 'Fn::GetAtt': ['Db', 'Endpoint.Address'] },
      e: { 'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q' },
      f: { 'Fn::Sub': ['${A}-x', { A: { Ref: 'Thing' } }] },
      g: { 'Fn::Join': ['-', ['a', { Ref: 'Thing' }]] },
      h: { 'Fn::If': ['IsProd', 1, 2] },
      i: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
      j: { 'Fn::Split': [',', 'a,b'] },
      k: { 'Fn::FindInMap': ['Map', 'Key', 'Value'] },
      l: { 'Fn::ImportValue': 'shared-export' },
      m: { 'Fn::Base64': 'hello' },
      n: { 'Fn::Base64': { 'Fn::Sub': 'x' } },
    });
  });

  it('refuses a !GetAtt without an attribute', () => {
    expect(() => parseServerlessConfig(minimal('custom:\n  a: !GetAtt Queue\n'))).toThrow(
      ServerlessConfigError,
    );
  });
});

describe('Serverless variables', () => {
  it.each([
    ['self:service', 'custom:\n  v: ${self:service}\n', {}, 'svc'],
    ['self:custom path', 'custom:\n  a:\n    b: deep\n  v: ${self:custom.a.b}\n', {}, 'deep'],
    ['self:provider', 'custom:\n  v: ${self:provider.name}-x\n', {}, 'aws-x'],
    ['sls:stage', 'custom:\n  v: ${sls:stage}\n', {}, 'dev'],
    ['opt:stage with default', "custom:\n  v: ${opt:stage, 'fallback'}\n", {}, 'fallback'],
    ['env with value', "custom:\n  v: ${env:COLOUR, 'grey'}\n", { COLOUR: 'blue' }, 'blue'],
    ['env default', "custom:\n  v: ${env:COLOUR, 'grey'}\n", {}, 'grey'],
    ['double-quoted default', 'custom:\n  v: ${env:COLOUR, "grey"}\n', {}, 'grey'],
    ['numeric default', 'custom:\n  v: ${env:N, 7}\n', {}, 7],
    ['variable fallback', 'custom:\n  w: 9\n  v: ${env:N, ${self:custom.w}}\n', {}, 9],
    ['bare variable fallback', 'custom:\n  w: 9\n  v: ${env:N, self:custom.w}\n', {}, 9],
    ['nested address', 'custom:\n  dev:\n    size: 3\n  v: ${self:custom.${sls:stage}.size}\n', {}, 3],
    ['typed whole value', 'custom:\n  n: 42\n  v: ${self:custom.n}\n', {}, 42],
    ['interpolated', 'custom:\n  n: 42\n  v: a-${self:custom.n}-${sls:stage}\n', {}, 'a-42-dev'],
    ['chained self', 'custom:\n  a: ${sls:stage}\n  v: ${self:custom.a}!\n', {}, 'dev!'],
    [
      'cloudformation placeholder kept',
      'custom:\n  v: ${AWS::Region}-${Queue.Arn}-${!Literal}\n',
      {},
      '${AWS::Region}-${Queue.Arn}-${!Literal}',
    ],
  ])('resolves %s', (_label, body, env, expected) => {
    // Act
    const config = parseServerlessConfig(minimal(body), { env });

    // Assess
    expect(config.custom.v).toEqual(expected);
  });

  it('uses provider.stage when no stage is requested, and the requested stage over it', () => {
    // Prepare
    const yaml =
      "service: svc\nprovider:\n  name: aws\n  stage: ${opt:stage, 'qa'}\ncustom:\n  v: ${sls:stage}\n";

    // Act / Assess
    expect(parseServerlessConfig(yaml, { env: {} }).custom.v).toBe('qa');
    expect(parseServerlessConfig(yaml, { stage: 'prod', env: {} }).custom.v).toBe('prod');
  });

  it('layers params: default, then the stage, then the overrides', () => {
    // Prepare
    const yaml = minimal(`params:
  default:
    a: from-default
    b: from-default
    c: from-default
  prod:
    b: from-prod
    c: from-prod
custom:
  v: \${param:a}/\${param:b}/\${param:c}
`);

    // Act
    const dev = parseServerlessConfig(yaml, { env: {} });
    const prod = parseServerlessConfig(yaml, { stage: 'prod', params: { c: 'from-cli' }, env: {} });

    // Assess
    expect(dev.custom.v).toBe('from-default/from-default/from-default');
    expect(prod.custom.v).toBe('from-default/from-prod/from-cli');
  });

  it.each([
    [
      'an unknown source',
      'custom:\n  v: ${ssm:/path/to/secret}\n',
      '${ssm:/path/to/secret}',
      /unsupported variable source "ssm"/,
    ],
    [
      'a file() source of a kind the sandbox does not read',
      'custom:\n  v: ${file(./x.yml):a}\n',
      '${file(./x.yml):a}',
      /reads \.json, \.js and \.cjs files, not "\.yml"/,
    ],
    ['a missing env value without fallback', 'custom:\n  v: ${env:NOPE}\n', '${env:NOPE}', /no value found/],
    ['a missing self path', 'custom:\n  v: ${self:custom.nope}\n', '${self:custom.nope}', /no value found/],
    ['a missing param', 'custom:\n  v: ${param:nope}\n', '${param:nope}', /no value found/],
    [
      'a circular self reference',
      'custom:\n  a: ${self:custom.b}\n  b: ${self:custom.a}\n',
      '${self:custom',
      /circular/,
    ],
    [
      'an unsupported sls variable',
      'custom:\n  v: ${sls:instanceId}\n',
      '${sls:instanceId}',
      /unsupported sls/,
    ],
    [
      'an object inside a longer string',
      'custom:\n  o: { a: 1 }\n  v: x-${self:custom.o}\n',
      'x-${self:custom.o}',
      /object/,
    ],
  ])('refuses %s with an error naming the variable', (_label, body, variable, reason) => {
    // Act
    let caught: unknown;
    try {
      parseServerlessConfig(minimal(body), { env: {} });
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(VariableResolutionError);
    const error = caught as VariableResolutionError;
    expect(error.variable).toContain(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toMatch(reason);
  });

  it('points at where the failing variable is used', () => {
    expect(() =>
      parseServerlessConfig(minimal('custom:\n  deep:\n    v: ${foo:bar}\n'), { env: {} }),
    ).toThrow(/at custom\.deep\.v/);
  });
});

describe('function normalisation', () => {
  it('applies framework defaults and merges provider and function environments', () => {
    // Prepare
    const yaml = `service: svc
provider:
  name: aws
  environment:
    SHARED: p
    OVERRIDDEN: p
functions:
  worker:
    handler: src/handlers/worker.main
    environment:
      OVERRIDDEN: f
    events:
      - sqs: arn:aws:sqs:us-east-1:000000000000:q
      - schedule: rate(2 hours)
      - http: GET /x
`;

    // Act
    const worker = parseServerlessConfig(yaml, { env: {} }).functions.worker;

    // Assess
    expect(worker).toMatchObject({
      handlerModule: 'src/handlers/worker',
      handlerExport: 'main',
      timeout: 6,
      memorySize: 1024,
      environment: { SHARED: 'p', OVERRIDDEN: 'f' },
    });
    expect(worker?.events).toEqual([
      {
        sqs: {
          arn: 'arn:aws:sqs:us-east-1:000000000000:q',
          batchSize: 10,
          maximumBatchingWindow: 0,
          enabled: true,
        },
      },
      { schedule: { rate: ['rate(2 hours)'], enabled: true } },
      { other: { type: 'http', value: 'GET /x' } },
    ]);
  });

  it.each([
    ['a handler without an export', 'functions:\n  f:\n    handler: file\n', /handler/],
    [
      'a non-numeric batch size',
      "functions:\n  f:\n    handler: a.b\n    events:\n      - sqs: { arn: x, batchSize: 'ten' }\n",
      /batchSize/,
    ],
    [
      'a schedule without rate',
      'functions:\n  f:\n    handler: a.b\n    events:\n      - schedule: { name: x }\n',
      /rate/,
    ],
  ])('refuses %s', (_label, body, message) => {
    expect(() => parseServerlessConfig(minimal(body), { env: {} })).toThrow(message);
  });
});

describe('parseRate', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(2 hours)', 7_200_000],
    ['rate(1 day)', 86_400_000],
    [' rate( 3 days ) ', 259_200_000],
  ])('converts %s to %d ms', (expr, ms) => {
    expect(parseRate(expr)).toBe(ms);
  });

  it.each([
    ['cron(0 12 * * ? *)', /not supported in the sandbox/],
    ['rate(0 minutes)', /positive integer/],
    ['rate(1 minutes)', /singular/],
    ['rate(5 minute)', /plural/],
    ['rate(10 seconds)', /minute\(s\), hour\(s\) or day\(s\)/],
    ['rate(1.5 hours)', /not a rate expression/],
    ['every 5 minutes', /not a rate expression/],
  ])('refuses %s', (expr, message) => {
    expect(() => parseRate(expr)).toThrow(ScheduleExpressionError);
    expect(() => parseRate(expr)).toThrow(message);
  });
});
