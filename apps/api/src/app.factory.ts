import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { registerHttpMetrics } from './common/observability/http-metrics';
import { setupDocs } from './common/observability/docs';
import { apiLogger } from './common/observability/logging';
import { REQUEST_ID_HEADER, requestIdFor } from './common/observability/request-id';
import type { ApiDeps } from './common/tokens';
import { RequestLogController } from './common/observability/request-log';
import { registerProtection, serverOptions } from './common/protection/protection';
import { frameworkErrorAnswer, strictJsonParser } from './common/request-edge';
import { helmetHeaders } from './common/protection/security-headers';
import type { Logger } from 'pino';

export type { ApiDeps } from './common/tokens';

/** Fastify instances whose app is closing. */
const draining = new WeakSet<object>();

function createAdapter(deps: ApiDeps, logger: Logger, securityHeaders: Record<string, string>): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: deps.config.bodyLimitBytes,
    // Behind a proxy, configure it explicitly; never trust X-Forwarded-* by default.
    trustProxy: false,
    genReqId: requestIdFor,
    requestIdHeader: false,
    loggerInstance: logger,
    logController: new RequestLogController(),
    // Request/header timeouts and problem+json for Node's own 408/431/400.
    ...serverOptions(deps.config, securityHeaders),
    // Malformed or over-long path parameters: problem+json, not the router's plain JSON.
    frameworkErrors: frameworkErrorAnswer(securityHeaders),
  });
  const fastify = adapter.getInstance();
  // JSON only, in UTF-8: anything else (text/plain, forms, other charsets) is 415.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    strictJsonParser(fastify.getDefaultJsonParser('error', 'error')),
  );
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  // Keep-alive connections outlive their request by Fastify's keepAliveTimeout (72 s): while
  // draining, every response closes its connection, so close() ends when the last one is sent.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (draining.has(fastify)) reply.header('connection', 'close');
    done(null, payload);
  });
  registerHttpMetrics(fastify);
  return adapter;
}

/** The API, initialised (key directory loaded) but not listening. */
export async function createApiApp(deps: ApiDeps): Promise<NestFastifyApplication> {
  const logger = apiLogger(deps.config, deps.logger);
  // The answers written before any hook runs (router errors, raw-socket errors) carry them too.
  const securityHeaders = await helmetHeaders();
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ ...deps, logger }),
    createAdapter(deps, logger, securityHeaders),
    {
      bufferLogs: true,
      // A module that fails to initialise throws to the caller (the CLI exits 1 with the error; a test
      // fails) instead of Nest calling process.exit.
      abortOnError: false,
      // Our own JSON parser above; Nest's would add urlencoded.
      bodyParser: false,
    },
  );
  app.useLogger(app.get(PinoNestLogger));
  // Before any route exists: helmet and the rate limit attach to routes as they are added.
  await registerProtection(app, deps.config);
  setupDocs(app);
  await app.init();
  return app;
}

export interface RunningApi {
  app: NestFastifyApplication;
  url: string;
  /** Stops accepting connections, lets requests in flight finish, then stops the key directory. */
  close(): Promise<void>;
}

export async function startApi(deps: ApiDeps): Promise<RunningApi> {
  const app = await createApiApp(deps);
  await app.listen({ port: deps.config.port, host: deps.config.host });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : deps.config.port;
  const host = deps.config.host === '0.0.0.0' || deps.config.host === '::' ? '127.0.0.1' : deps.config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => {
      draining.add(app.getHttpAdapter().getInstance());
      // Fastify stops accepting, closes idle connections and waits for the requests in flight.
      return (closing ??= app.close());
    },
  };
}
