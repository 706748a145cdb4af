/**
 * Routing: the operations' HTTP bindings (method and request URI) come from the API model; a request
 * becomes its operation's input object (URI labels, query-string members and JSON body members by
 * the model's locations), ready for `checkInput`.
 */
import type { EmulatorRequest } from '../http-types.ts';
import type { JsonObject } from './check-input.ts';
import { CONNECT_OPERATIONS, type ConnectOperation } from './config.ts';
import { ConnectApiError } from './errors.ts';
import { type ModelNode, operationModel } from './model.ts';

interface Route {
  operation: ConnectOperation;
  method: string;
  pattern: RegExp;
  /** URI label names, in path order. */
  labels: string[];
}

function routeOf(operation: ConnectOperation): Route {
  const { method, requestUri } = operationModel(operation).http;
  const labels: string[] = [];
  const source = requestUri.replace(/\{([^}]+)\}/g, (_match, label: string) => {
    labels.push(label.replace(/\+$/, ''));
    // An empty label still routes, so the model's minimum length answers it (not a 404).
    return '([^/]*)';
  });
  return { operation, method, pattern: new RegExp(`^${source}$`), labels };
}

const ROUTES: readonly Route[] = CONNECT_OPERATIONS.map(routeOf);

export interface RouteMatch {
  route: Route;
  params: string[];
}

export function matchRoute(req: EmulatorRequest): RouteMatch | undefined {
  for (const route of ROUTES) {
    if (route.method !== req.method) continue;
    const m = route.pattern.exec(req.path);
    if (m) return { route, params: m.slice(1) };
  }
  return undefined;
}

const SIGV4_CONNECT_SCOPE = /Credential=[^,]*\/connect\/aws4_request/;

/** True for any path the emulator serves (any method), or any request SigV4-signed for `connect`. */
export function isConnectRequest(req: EmulatorRequest): boolean {
  if (req.path.startsWith('/_sandbox')) return false;
  if (ROUTES.some((route) => route.pattern.test(req.path))) return true;
  return SIGV4_CONNECT_SCOPE.test(String(req.headers.authorization ?? ''));
}

/** Parses a request body: empty means `{}`; anything but a JSON object is a SerializationException. */
export function readJsonObject(body: Buffer): JsonObject {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConnectApiError('SerializationException', 'the request body is not valid JSON', {
      cause: error,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConnectApiError('SerializationException', 'the request body must be a JSON object');
  }
  return parsed as JsonObject;
}

/** A query-string value as the member's type reads it (lists repeat the key or join with commas). */
function queryValue(query: URLSearchParams, name: string, node: ModelNode): unknown {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  if (node.type === 'list') return values.flatMap((v) => v.split(',')).filter((v) => v !== '');
  const [first = ''] = values;
  if (node.type === 'integer' || node.type === 'long') return first === '' ? first : Number(first);
  return first;
}

const safeDecode = (value: string) => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/** The operation's input object: body members, then URI labels and query-string members. */
export function readInput(route: Route, req: EmulatorRequest, params: string[]): JsonObject {
  const hasBody = route.method === 'PUT' || route.method === 'POST';
  const input: JsonObject = hasBody ? readJsonObject(req.body) : {};
  const members = operationModel(route.operation).input.members ?? {};
  for (const [name, node] of Object.entries(members)) {
    if (node.location === 'uri') {
      const at = route.labels.indexOf(node.locationName ?? name);
      if (at >= 0) input[name] = safeDecode(params[at] ?? '');
    } else if (node.location === 'querystring') {
      const value = queryValue(req.query, node.locationName ?? name, node);
      if (value !== undefined) input[name] = value;
    }
  }
  return input;
}
