/**
 * A loopback SMTP server (smtp-server) that captures mail for daemon tests:
 * cleartext on 127.0.0.1, no auth. It can be closed and started again on the
 * same port (a mail server that is down, then back).
 */
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface CapturedMail {
  subject: string;
  messageId: string;
  text: string;
  raw: string;
}

export interface SmtpCapture {
  port: number;
  mails: CapturedMail[];
  close(): Promise<void>;
  /** Listens again on the same port, keeping the mails captured so far. */
  restart(): Promise<void>;
}

function parse(raw: string): CapturedMail {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const header = (name: string) => unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? '';
  return { subject: header('subject'), messageId: header('x-haproxy-manager-message-id') || header('message-id'), text: rest.join('\n\n'), raw };
}

export async function startSmtpCapture(port = 0): Promise<SmtpCapture> {
  const mails: CapturedMail[] = [];
  let server: SMTPServer;
  const listen = async (p: number) => {
    server = new SMTPServer({
      secure: false,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      // close() waits for clients to quit; a pooled client is cut off after this (a mail server going down).
      closeTimeout: 100,
      onData(stream, _session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push(parse(Buffer.concat(chunks).toString('utf8')));
          cb();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => resolve());
    });
    return (server.server.address() as AddressInfo).port;
  };
  const bound = await listen(port);
  return {
    port: bound,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    restart: async () => {
      await listen(bound);
    },
  };
}
