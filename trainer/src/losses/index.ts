export * from './losses';
export * from './triplets';
export * from './mining';
