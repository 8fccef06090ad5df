/**
 * What a test reads of what the hub sends people: a real SMTP server (npm's smtp-server) and an
 * SMS gateway (a plain HTTP server), both on loopback port 0, keeping every message they accept.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Mail {
  to: string;
  subject: string;
  /** The text/plain part, decoded. */
  text: string;
  /** The text/html part, decoded. */
  html: string;
}

/** An SMTP server that keeps what it accepts; `refuse(address)` says how to answer RCPT TO for it. */
export async function startInbox(
  refuse: (address: string) => { code: number; message: string } | undefined = () => undefined,
) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, done) {
      const no = refuse(address.address);
      done(no ? Object.assign(new Error(no.message), { responseCode: no.code }) : undefined);
    },
    onData(stream, session, done) {
      let raw = '';
      stream.on('data', (d: Buffer) => {
        raw += d.toString('latin1');
      });
      stream.on('end', () => {
        for (const r of session.envelope.rcptTo) mails.push({ to: r.address, ...decode(raw) });
        done();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return {
    mails,
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The subject and the text and HTML parts of a MIME message (or its one part), as nodemailer writes them. */
function decode(raw: string): Omit<Mail, 'to'> {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const unfolded = head.replace(/\r?\n[ \t]/g, ' ');
  const subject = words(/^Subject: (.*)$/m.exec(unfolded)?.[1] ?? '');
  const body = rest.join('\r\n\r\n');
  if (/^Content-Type: multipart\//im.test(unfolded))
    return { subject, text: part(body, 'text/plain'), html: part(body, 'text/html') };
  // A message of one text part (an alarm's): its type and encoding are in the message's own head.
  const text = content(unfolded, body);
  return /^Content-Type: text\/html/im.test(unfolded)
    ? { subject, text: '', html: text }
    : { subject, text, html: '' };
}

/** RFC 2047 encoded words, joined. */
function words(s: string): string {
  return s
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : bytes(text.replace(/_/g, ' ')),
    );
}

function bytes(qp: string): string {
  return Buffer.from(
    qp
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

function part(body: string, type: string): string {
  const at = body.indexOf(`Content-Type: ${type}`);
  if (at < 0) return '';
  const after = body.slice(at);
  const [headers = '', ...rest] = after.split(/\r?\n\r?\n/);
  return content(headers, rest.join('\r\n\r\n').split(/\r?\n--/)[0] ?? '');
}

/** A part's text, decoded as its headers say. */
function content(headers: string, text: string): string {
  if (/Content-Transfer-Encoding: base64/i.test(headers))
    return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/Content-Transfer-Encoding: quoted-printable/i.test(headers)) return bytes(text);
  return Buffer.from(text, 'latin1').toString('utf8');
}

export interface Sms {
  to: string;
  text: string;
  authorization: string | undefined;
}

/**
 * An SMS gateway: answers each POST with the next status of `statuses` (200 once they run out), and
 * keeps the messages it answered 2xx to; `requests` counts every POST.
 */
export async function startSmsGateway() {
  const sms: Sms[] = [];
  const statuses: number[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      requests++;
      const status = statuses.shift() ?? 200;
      if (status < 300) {
        const m = JSON.parse(body) as { to: string; text: string };
        sms.push({ to: m.to, text: m.text, authorization: req.headers.authorization });
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    sms,
    statuses,
    requests: () => requests,
    url: `http://127.0.0.1:${port}/send`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
