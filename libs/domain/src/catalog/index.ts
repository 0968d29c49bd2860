export * from './metrics';
export * from './customers';
export * from './plans';
export * from './subscriptions';
