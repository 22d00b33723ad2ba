// winston JSON logs. Secret values are redacted by key name before they reach any transport.
import winston from 'winston';
import { isSecretVar } from './secrets.js';

const redact = winston.format((info) => {
  for (const k of Object.keys(info)) {
    if (isSecretVar(k)) (info as Record<string, unknown>)[k] = '[redacted]';
  }
  return info;
});

export function createLogger(component: string, level = process.env.AUTORUN_LOG_LEVEL ?? 'info'): winston.Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component },
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    // stderr: stdout belongs to the agent transcript and to CLI output.
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
  });
}

export type Logger = winston.Logger;
