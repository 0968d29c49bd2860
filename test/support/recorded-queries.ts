import type { ClientBase } from 'pg';

/**
 * Every SQL text `client` is sent from now on, in order. The client still runs each one against the
 * real server; this only writes down what was asked (e.g. that no ROLLBACK was queued).
 */
export function recordQueries(client: ClientBase): string[] {
  const sent: string[] = [];
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    sent.push(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text));
    return query(...args);
  };
  return sent;
}
