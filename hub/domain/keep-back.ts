/**
 * What only a restart or a slow sweep needs — a sensor's last reading and rhythm, when a cabinet
 * was last heard — is written at most this often; a change of alarm state is written at once. In
 * a fleet where each sensor reports every second this spares an upsert per reading, and a page of
 * the log per cabinet in every commit of device events; a silent sensor (30 s at least) and a
 * silent cabinet (5 min) are still seen in time.
 */
export const PERSIST_EVERY_MS = 10_000;
