/**
 * The ceiling for bench/ingestion.ts: a bare Fastify server on the same machine, with the API's JSON
 * parsing (same parser, same prototype-poisoning checks, same body limit), that answers POST
 * /v1/events with 202 and POST /v1/events/batch with 207 and one result per event, and does nothing
 * else: no auth, no validation, no database. Run as its own process, like the API it stands for.
 *   PORT=0 node dist/bench/ingestion-bare-server.js   (prints "listening <port>")
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

async function main(): Promise<void> {
  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.post('/v1/events', async (request, reply) => {
    const body = request.body as { idempotency_key?: unknown };
    return reply.code(202).send({ id: randomUUID(), status: 'accepted', idempotency_key: body.idempotency_key });
  });
  app.post('/v1/events/batch', async (request, reply) => {
    const events = (request.body as { events: Array<{ idempotency_key?: unknown }> }).events;
    const results = events.map((event, index) => ({
      index,
      status: 202,
      id: randomUUID(),
      outcome: 'accepted',
      idempotency_key: event.idempotency_key,
    }));
    return reply
      .code(207)
      .send({ results, summary: { accepted: events.length, duplicate: 0, conflict: 0, invalid: 0 } });
  });
  await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
  process.on('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
