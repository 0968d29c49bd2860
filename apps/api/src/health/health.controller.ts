import { Controller, Get, Header } from '@nestjs/common';
import {
  ApiExcludeEndpoint,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Public } from '../common/auth/auth.decorators';
import { metricsRegistry } from '../common/observability/http-metrics';
import { ApiProblem } from '../common/problems/api-problem';
import { Readiness, type CheckResult } from './readiness';

@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ description: '{ "status": "ok" }' })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: database, event store, migrations applied, key directory live' })
  @ApiOkResponse({ description: '{ "status": "ready", "checks": [...] }' })
  @ApiServiceUnavailableResponse({ description: 'problem+json SERVICE.NOT_READY with the failing checks' })
  async readyz(): Promise<{ status: 'ready'; checks: CheckResult[] }> {
    const checks = await this.readiness.check();
    const failed = checks.filter((check) => check.status === 'failed');
    if (failed.length > 0) {
      throw new ApiProblem('SERVICE.NOT_READY', `failing checks: ${failed.map((c) => c.name).join(', ')}`, {
        members: { checks },
      });
    }
    return { status: 'ready', checks };
  }

  @Get('metrics')
  @ApiExcludeEndpoint()
  @Header('content-type', metricsRegistry().contentType)
  @Header('cache-control', 'no-store')
  async metrics(): Promise<string> {
    return metricsRegistry().metrics();
  }
}
