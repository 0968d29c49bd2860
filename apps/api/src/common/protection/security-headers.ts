import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Helmet's headers on every response: JSON answers get `nosniff`, no framing, no referrer; the
 * Swagger UI at /docs runs under a CSP that allows only its own scripts and styles (its one inline
 * `<style>` is covered by helmet's default `style-src 'unsafe-inline'`), images from itself and
 * `data:`, and requests to this origin.
 */
export async function registerSecurityHeaders(fastify: FastifyInstance): Promise<void> {
  await fastify.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        // The API is often served over plain HTTP inside a private network (or TLS ends at a proxy):
        // upgrading /docs' own asset requests to https there would break the page.
        upgradeInsecureRequests: null,
      },
    },
  });
}
