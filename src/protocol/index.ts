export * from './close-codes.js';
export * from './errors.js';
export * from './frames.js';
export * from './json-depth.js';
export * from './names.js';
export * from './subprotocol.js';
