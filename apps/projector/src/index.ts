export { startProjector, type Projector, type ProjectorDeps } from './start-projector';
export { projectionStatus, rebuildProjection } from './projection-admin';
export { projections } from './projections';
export { startMetricsServer, type MetricsServer } from './metrics-server';
