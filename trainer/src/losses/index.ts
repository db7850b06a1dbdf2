export * from './losses';
export * from './triplets';
