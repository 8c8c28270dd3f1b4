/** Trusted time for a box without a real-time clock. */
export * from './trusted-clock.js'
