/**
 * A screen and a keypad for cabinets whose lock board has neither (KR-CU16, Firmata): a page the
 * Pi's own browser shows full screen on its touchscreen (docs/operations.md §7.7). It shows what the
 * hub says to the person, sounds the beeps, and takes codes from an on-screen keypad.
 *
 * Served on a loopback address only: the browser runs on the Pi. Codes come in as a JSON POST
 * with our own header, which a page from elsewhere cannot send without a preflight this server never
 * grants; the Host header must be the address served, so a rebound DNS name cannot reach it.
 *
 * Emits `code` (digits) for each code entered.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Language, type MessageKey, say } from '../../devices/index.ts';

export const KIOSK_HEADER = 'x-casier-kiosk';
/** What the screen shows when nobody is using it. */
/** How long a message stays before the screen returns to its idle text. */
const MESSAGE_MS = 10_000;
const MAX_SCREENS = 8;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const asset = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8');

type Push = { type: 'display'; text: string } | { type: 'beep'; pattern: 'ok' | 'error' };

export class Kiosk extends EventEmitter {
  /** The page, its words filled in at each request: the language may change (`speak`). */
  readonly #page = asset('./index.html');
  #language: Language = 'en';
  readonly #assets = {
    '/kiosk.js': { type: 'text/javascript; charset=utf-8', body: asset('./kiosk.js') },
    '/kiosk.css': { type: 'text/css; charset=utf-8', body: asset('./kiosk.css') },
  } as Record<string, { type: string; body: string }>;
  readonly #screens = new Set<ServerResponse>();
  #server: Server | undefined;
  #text: string | undefined;
  #idle: NodeJS.Timeout | undefined;
  #port = 0;

  constructor(private readonly opts: { host: string; port: number; messageMs?: number }) {
    super();
    if (!LOOPBACK.has(opts.host))
      throw new Error(`kiosk: ${opts.host} is not a loopback address; the screen's browser runs on the Pi`);
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      // Whatever a request holds, it costs a 400, never the bridge.
      try {
        this.#serve(req, res);
      } catch {
        if (!res.headersSent) res.writeHead(400);
        res.end();
      }
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    clearTimeout(this.#idle);
    for (const s of this.#screens) s.end();
    this.#screens.clear();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** What the screen says while nobody is at it. */
  #idleText(): string {
    return say(this.#language, 'kiosk.idle');
  }

  /** The language of the page's own words (its site's, from the hub's last code table). */
  speak(language: Language): void {
    this.#language = language;
  }

  #render(): string {
    return this.#page
      .replace('<html lang="en">', `<html lang="${this.#language}">`)
      .replace(/\{\{([a-z_.]+)\}\}/g, (_, key: string) => escapeHtml(say(this.#language, key as MessageKey)));
  }

  display(text: string): void {
    this.#text = text;
    this.#push({ type: 'display', text });
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#text = undefined;
      this.#push({ type: 'display', text: this.#idleText() });
    }, this.opts.messageMs ?? MESSAGE_MS);
    this.#idle.unref();
  }

  beep(pattern: 'ok' | 'error'): void {
    this.#push({ type: 'beep', pattern });
  }

  #push(p: Push): void {
    const frame = `data: ${JSON.stringify(p)}\n\n`;
    for (const s of this.#screens) s.write(frame);
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const host = req.headers.host ?? '';
    const hostname = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0];
    if (!LOOPBACK.has(hostname ?? '')) {
      res.writeHead(421).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://kiosk');
    if (req.method === 'GET' && url.pathname === '/events') {
      this.#events(res);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/code') {
      this.#code(req, res);
      return;
    }
    const a =
      req.method !== 'GET'
        ? undefined
        : url.pathname === '/'
          ? { type: 'text/html; charset=utf-8', body: this.#render() }
          : this.#assets[url.pathname];
    if (!a) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': a.type,
      'cache-control': 'no-cache',
      'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
    });
    res.end(a.body);
  }

  #events(res: ServerResponse): void {
    // One touchscreen, perhaps a second look from an installer's laptop over SSH: not a crowd.
    if (this.#screens.size >= MAX_SCREENS) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(
      `retry: 1000\ndata: ${JSON.stringify({ type: 'display', text: this.#text ?? this.#idleText() })}\n\n`,
    );
    this.#screens.add(res);
    res.on('close', () => this.#screens.delete(res));
  }

  #code(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers[KIOSK_HEADER] !== '1' || !req.headers['content-type']?.startsWith('application/json')) {
      res.writeHead(403).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 256) req.destroy();
    });
    req.on('end', () => {
      let code: unknown;
      try {
        code = (JSON.parse(body) as { code?: unknown }).code;
      } catch {
        code = undefined;
      }
      if (typeof code !== 'string' || !/^[0-9]{4,16}$/.test(code)) {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(202).end();
      this.emit('code', code);
    });
  }
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c]};`);
