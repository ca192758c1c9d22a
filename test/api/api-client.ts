import { API_KEY, type RunningGateway } from '../helpers/gateway.js';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

/** One server API call over real HTTP with the test API key (or `key`, `null` for none). */
export async function api(
  running: RunningGateway, method: 'GET' | 'POST', path: string, body?: unknown,
  options: { key?: string | null; headers?: Record<string, string>; raw?: string } = {},
): Promise<ApiAnswer> {
  const key = options.key === undefined ? API_KEY : options.key;
  const headers: Record<string, string> = { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...options.headers };
  const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${running.httpUrl}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let parsed: Record<string, any>;
  try {
    parsed = JSON.parse(text) as Record<string, any>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
