/**
 * Reads a CloudWatch dashboard body written as `Fn::Sub` over a JSON string (serverless.yml,
 * QuotaDashboard), the way CloudFormation will: every `${...}` placeholder must name a pseudo
 * parameter or a resource of the template (`${Logical}` or `${Logical.Attribute}`), and the text must
 * be JSON once they are substituted. Works on the packaged template and on the sandbox's parse of
 * serverless.yml alike (both keep `Fn::Sub` as `{ 'Fn::Sub': string }`).
 */

const PSEUDO = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

export interface DashboardMetric {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  options: Record<string, unknown>;
}

export interface DashboardWidget {
  type: string;
  properties: {
    title?: string;
    metrics?: unknown[][];
    [key: string]: unknown;
  };
}

export interface ParsedDashboard {
  /** The placeholders, as written (`AWS::Region`, `IngestLambdaFunction`). */
  placeholders: string[];
  body: { widgets: DashboardWidget[]; [key: string]: unknown };
}

class DashboardBodyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DashboardBodyError';
  }
}

/**
 * Substitutes the placeholders of a dashboard body and parses it.
 * Input: the `DashboardBody` value and the template's resource ids.
 * Output: the placeholders and the parsed body; throws DashboardBodyError when a placeholder names
 * nothing, a Serverless variable was left unresolved, or the result is not JSON.
 */
export function parseDashboardBody(value: unknown, resourceIds: ReadonlySet<string>): ParsedDashboard {
  const sub = (value as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'];
  if (typeof sub !== 'string') throw new DashboardBodyError('DashboardBody is not Fn::Sub over a string');
  const placeholders: string[] = [];
  const text = sub.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    placeholders.push(name);
    if (PSEUDO.has(name)) return name === 'AWS::Region' ? 'us-east-1' : `pseudo-${name.slice(5)}`;
    const [id] = name.split('.');
    if (id === undefined || !resourceIds.has(id)) {
      throw new DashboardBodyError(`placeholder \${${name}} names no pseudo parameter or resource`);
    }
    return `resolved-${name}`;
  });
  try {
    return { placeholders, body: JSON.parse(text) as ParsedDashboard['body'] };
  } catch (error) {
    throw new DashboardBodyError(`DashboardBody is not JSON after substitution: ${String(error)}`, {
      cause: error,
    });
  }
}

/** Every metric of every widget (metric-math expressions excluded), with its dimensions as a record. */
export function dashboardMetrics(body: ParsedDashboard['body']): DashboardMetric[] {
  const out: DashboardMetric[] = [];
  for (const widget of body.widgets) {
    for (const row of widget.properties.metrics ?? []) {
      const last = row[row.length - 1];
      const hasOptions = last !== null && typeof last === 'object';
      const parts = (hasOptions ? row.slice(0, -1) : row) as string[];
      if (parts.length < 2) continue;
      const [namespace, metricName, ...dims] = parts;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i] as string] = dims[i + 1] as string;
      out.push({
        namespace: namespace as string,
        metricName: metricName as string,
        dimensions,
        options: hasOptions ? (last as Record<string, unknown>) : {},
      });
    }
  }
  return out;
}

/** The metric-math expressions of a widget, with the ids of the metrics the widget defines. */
export function dashboardExpressions(widget: DashboardWidget): { expressions: string[]; ids: Set<string> } {
  const expressions: string[] = [];
  const ids = new Set<string>();
  for (const row of widget.properties.metrics ?? []) {
    const last = row[row.length - 1] as Record<string, unknown> | undefined;
    if (last && typeof last === 'object') {
      if (typeof last.id === 'string') ids.add(last.id);
      if (typeof last.expression === 'string') expressions.push(last.expression);
    }
  }
  return { expressions, ids };
}
