export * from './metrics';
export * from './customers';
