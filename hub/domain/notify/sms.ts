/**
 * SMS through an HTTP gateway (`--sms-url`, `--sms-token`): the hub POSTs
 * `{"to": "+33612345678", "text": "…"}` as JSON, with `Authorization: Bearer <token>` when a token
 * is set, through the hub's outbound policy (hub/domain/notify/outbound.ts). Any 2xx is sent. 408,
 * 429 and 5xx (and no answer) are tried again with backoff; any other 4xx is a refusal of this
 * very request (a number the provider will not take, a bad token) and is recorded as failed at
 * once, since sending the same bytes again cannot change the answer. An installer puts a few lines
 * of adapter in front of their provider's own API (docs/operations.md §10).
 *
 * The text is folded to the GSM 03.38 alphabet before it leaves: one character outside it (ê, ç,
 * a typographic apostrophe) makes the whole message UCS-2, 70 characters a segment instead of 160.
 */
import { type Channel, DeliveryError, type Recipient, type Written } from './channels.ts';
import type { OutboundPolicy } from './outbound.ts';

export interface SmsConfig {
  /** Where the hub POSTs `{to, text}`: https://gateway.example/send. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`, if set. */
  token?: string;
}

const TIMEOUT_MS = 15_000;

export class SmsChannel implements Channel {
  readonly name = 'sms';

  constructor(
    private readonly config: SmsConfig,
    private readonly outbound: OutboundPolicy,
  ) {}

  address(r: Recipient): string | undefined {
    return r.phone;
  }

  async send(to: string, n: Written): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    const status = await this.outbound.post(
      this.config.url,
      headers,
      JSON.stringify({ to, text: n.sms }),
      TIMEOUT_MS,
    );
    if (status >= 200 && status < 300) return;
    const retry = status === 408 || status === 429 || status >= 500 || status < 400;
    throw new DeliveryError(`the SMS gateway answered ${status}`, !retry);
  }
}

/** The GSM 03.38 basic alphabet: one 7-bit character each. */
const GSM =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** Its extension table: two 7-bit characters each. */
const GSM_EXTENDED = '^{}\\[~]|€';
const GSM_SET = new Set([...GSM, ...GSM_EXTENDED]);
const LOOK_ALIKE: Record<string, string> = {
  '’': "'",
  '‘': "'",
  '“': '"',
  '”': '"',
  '«': '"',
  '»': '"',
  '–': '-',
  '—': '-',
  '…': '...',
  '\u00a0': ' ',
  '\u202f': ' ',
};

/** `text` in the GSM alphabet: accents it lacks dropped (ê → e), look-alikes swapped, the rest `?`. */
export function gsm7(text: string): string {
  let out = '';
  for (const ch of text) {
    if (GSM_SET.has(ch)) out += ch;
    else if (LOOK_ALIKE[ch] !== undefined) out += LOOK_ALIKE[ch];
    else {
      const bare = ch.normalize('NFD').replace(/\p{M}/gu, '');
      out += [...bare].every((c) => GSM_SET.has(c)) ? bare : '?';
    }
  }
  return out;
}

/** How many 7-bit characters `text` (already folded) takes in an SMS: 160 fit in one. */
export function smsLength(text: string): number {
  let n = 0;
  for (const ch of text) n += GSM_EXTENDED.includes(ch) ? 2 : 1;
  return n;
}
