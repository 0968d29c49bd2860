export * from './usage.events';
export * from './usage-buckets';
export * from './usage-checksum';
export * from './period-usage';
export * from './jsonb-rows';
export * from './metering-sql';
export * from './usage-accumulator';
