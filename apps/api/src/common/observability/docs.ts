import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** GET /docs (Swagger UI) and GET /docs/json (OpenAPI), built from the controllers' decorators. */
export function setupDocs(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('ABAXUS')
    .setDescription('Usage-based billing engine. Errors are application/problem+json (RFC 9457) with a stable `code`.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'sk_… (secret) or pk_… (publishable) API key' })
    .build();
  const document = () => SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', yamlDocumentUrl: 'docs/yaml' });
}
