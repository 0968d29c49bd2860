import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * Helmet's headers: JSON answers get `nosniff`, no framing, no referrer; the Swagger UI at /docs
 * runs under a CSP that allows only its own scripts and styles (its one inline `<style>` is covered
 * by helmet's default `style-src 'unsafe-inline'`), images from itself and `data:`, and requests to
 * this origin.
 */
const HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: true,
    directives: {
      // The API is often served over plain HTTP inside a private network (or TLS ends at a proxy):
      // upgrading /docs' own asset requests to https there would break the page.
      upgradeInsecureRequests: null,
    },
  },
};

/**
 * The headers @fastify/helmet sets with our options, computed once on a throwaway instance: they
 * are the same for every response (no CSP nonces), and the plugin itself rebuilds helmet's whole
 * middleware on every request (~5% of the API's CPU on single-event ingestion, measured).
 */
export function helmetHeaders(): Promise<Record<string, string>> {
  computed ??= computeHelmetHeaders().catch((error: unknown) => {
    computed = undefined; // the next app start tries again
    throw error;
  });
  return computed;
}

let computed: Promise<Record<string, string>> | undefined;

async function computeHelmetHeaders(): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  try {
    await probe.register(helmet, HELMET_OPTIONS);
    probe.get('/with', async () => 'x');
    probe.get('/without', { helmet: false }, async () => 'x');
    await probe.ready();
    const [withHelmet, without] = await Promise.all([probe.inject('/with'), probe.inject('/without')]);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(withHelmet.headers)) {
      if (!(name in without.headers) && typeof value === 'string') headers[name] = value;
    }
    return headers;
  } finally {
    await probe.close();
  }
}

/** Helmet's headers on every response (errors and unknown routes included). */
export async function registerSecurityHeaders(fastify: FastifyInstance): Promise<void> {
  const headers = await helmetHeaders();
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
