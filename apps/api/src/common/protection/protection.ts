import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DEFAULT_RATE_LIMIT_PER_SECOND, type AbaxusConfig } from '#platform';
import { KeyDirectory } from '../auth/key-directory';
import { registerRateLimit, type Authenticate } from './rate-limit';
import { registerSecurityHeaders } from './security-headers';
import { closeConnectionsWithUnreadBodies } from './server-limits';

export { serverOptions, serverLimits, type ServerLimits } from './server-limits';

/**
 * Security headers and per-key rate limiting, as Fastify hooks. Call after the Nest app is created
 * (the key directory exists) and before anything registers routes (`setupDocs`, `app.init()`):
 * both plugins attach themselves to routes as they are added.
 */
export async function registerProtection(app: NestFastifyApplication, config: AbaxusConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  await registerSecurityHeaders(fastify);
  closeConnectionsWithUnreadBodies(fastify);
  const perSecond = config.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT_PER_SECOND;
  if (perSecond > 0) {
    const directory = app.get(KeyDirectory);
    const authenticate: Authenticate = (token) => directory.authenticate(token);
    await registerRateLimit(fastify, perSecond, authenticate);
  }
}
