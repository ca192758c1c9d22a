/**
 * Folder time/: time as the stores and limiters with a TTL read it. Imports nothing: every layer that expires
 * something takes a `Clock` in its options, so tests move time forward instead of waiting it out.
 */

/** The current time in epoch milliseconds. */
export type Clock = () => number;

/** The default clock: the system's wall clock. */
export const systemClock: Clock = Date.now;
