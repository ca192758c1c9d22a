/**
 * Folder protocol/: the wire contract shared by server and client: frame types, the error catalogue, the close-code
 * table, name patterns and limits, subprotocol names. Pure data and functions; it imports nothing else of wsgate.
 */
export * from './close-codes.js';
export * from './errors.js';
export * from './frames.js';
export * from './json-depth.js';
export * from './names.js';
export * from './subprotocol.js';
