/**
 * How a notice reaches a customer: one channel per kind of address the recipient may give (an
 * e-mail address, a phone number). A channel is used when it is configured and the recipient gave
 * it an address; each sends on its own, so one that is down holds back nobody else's notices.
 */
import type { MailConfig, MailTransport } from './smtp.ts';
import { refusedForGood, smtpTransport } from './smtp.ts';

/** A notice written out for one reader: the e-mail's subject, text and HTML, and the SMS. */
export interface Written {
  subject: string;
  text: string;
  html: string;
  sms: string;
}

export interface Recipient {
  name: string;
  email?: string;
  phone?: string;
}

/** A send that failed; `permanent` when the same send would fail again (no retry). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export interface Channel {
  readonly name: 'email' | 'sms';
  /** The recipient's address on this channel, if they gave one. */
  address(r: Recipient): string | undefined;
  /** Sends, or throws (a DeliveryError says whether to try again; anything else is tried again). */
  send(address: string, notice: Written): Promise<void>;
  close?(): void;
}

/** E-mail over the hub's SMTP server (`--smtp-url`, `--mail-from`), a text part and an HTML one. */
export class EmailChannel implements Channel {
  readonly name = 'email';
  #transport: MailTransport | undefined;

  constructor(
    private readonly config: MailConfig,
    /** Tests pass their own transport (nodemailer's otherwise). */
    transport?: MailTransport,
  ) {
    this.#transport = transport;
  }

  address(r: Recipient): string | undefined {
    return r.email;
  }

  async send(address: string, n: Written): Promise<void> {
    this.#transport ??= await smtpTransport(this.config);
    try {
      await this.#transport.sendMail({
        from: this.config.from,
        to: address,
        subject: n.subject,
        text: n.text,
        html: n.html,
      });
    } catch (err) {
      throw new DeliveryError((err as Error).message, refusedForGood(err));
    }
  }

  close(): void {
    this.#transport?.close?.();
  }
}
