/**
 * A real nats-server (Debian: nats-server) on loopback for the relay-cluster tests: a random port, stopped at
 * teardown. `natsSkip()` says why tests skip where it is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export function natsSkip(): string | false {
  const r = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? false : 'nats-server not installed (Debian: nats-server); relay cluster tests skipped';
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts nats-server on 127.0.0.1 (a random port unless given) and waits until it listens (at most 10 s). */
export function startNatsServer(options: { port?: number; args?: readonly string[] } = {}): Promise<NatsServer> {
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(options.port ?? -1), ...(options.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not start within 10 s: ${log.slice(-500)}`));
    }, 10_000);
    const onData = (b: Buffer): void => {
      log = (log + b.toString()).slice(-8192);
      const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.stdout!.resume();
      child.stderr!.resume();
      const port = Number(m[1]);
      resolve({
        url: `nats://127.0.0.1:${port}`,
        port,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}): ${log.slice(-500)}`));
    });
  });
}
