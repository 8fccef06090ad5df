/**
 * What the hub's e-mails share, alarms to operators (mail.ts) and notices to customers
 * (customer.ts): one SMTP server (`--smtp-url`, `--mail-from`), reached through nodemailer
 * (STARTTLS, auth and the protocol's corners are not ours to write), and one retry schedule.
 */

export interface MailConfig {
  /** smtp://user:pass@host:port, or smtps:// (the password URL-encoded). */
  url: string;
  /** The sender, `casier <alarms@farm.example>`. */
  from: string;
}

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface MailTransport {
  sendMail(m: MailMessage): Promise<unknown>;
  close?(): void;
}

/** A message that could not go out is tried again for this long, then given up and recorded. */
export const GIVE_UP_MS = 24 * 3_600_000;
const MAX_BACKOFF_MS = 3_600_000;

/** How long to wait before the next try, after `attempts` failed ones: 1, 2, 4 … minutes, at most an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 60_000 * 2 ** attempts);
}

/** Nodemailer's SMTP transport for `config`, with bounded waits. */
export async function smtpTransport(config: MailConfig): Promise<MailTransport> {
  const { createTransport } = await import('nodemailer');
  // Bounded: a mail server that hangs must not hold the hub's stop (its defaults run to minutes).
  const url = new URL(config.url);
  url.searchParams.set('connectionTimeout', '15000');
  url.searchParams.set('greetingTimeout', '15000');
  url.searchParams.set('socketTimeout', '30000');
  return createTransport(url.toString()) as unknown as MailTransport;
}

/**
 * Whether the server refused the message for good: every recipient turned away with a permanent
 * reply (RFC 5321: 5yz, except 503, a session in the wrong state). Sending the same message again
 * would be refused again. A refused login, a closed port or a 4yz are worth another try.
 */
export function refusedForGood(err: unknown): boolean {
  const e = err as { code?: string; responseCode?: number };
  return (
    e.code === 'EENVELOPE' &&
    typeof e.responseCode === 'number' &&
    e.responseCode >= 500 &&
    e.responseCode < 600 &&
    e.responseCode !== 503
  );
}
