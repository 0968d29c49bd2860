export * from './aggregate';
export * from './aggregations';
export * from './aggregator';
export * from './event-fields';
export * from './metric';
export * from './percentile';
export * from './validate-metric';
