import { Module } from '@nestjs/common';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';
import './usage.problems';

@Module({
  controllers: [UsageController],
  providers: [UsageService],
})
export class UsageModule {}
