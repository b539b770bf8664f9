// The parts of keyturn's deployment that live outside this app and are shared
// with the local stack and the Terraform module: the table spec and the ASL.
// Reading them (instead of restating them) is what keeps the three in step.

import { readFileSync } from 'fs';
import * as path from 'path';

/** The repository root (this file runs from infra/cdk/dist/lib after tsc). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

export interface KeySpec {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexSpec {
  readonly name: string;
  readonly partition_key: KeySpec;
  readonly sort_key?: KeySpec;
  readonly projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  readonly non_key_attributes?: string[];
}

export interface TableSpec {
  readonly logical_name: 'connectors' | 'changes' | 'audit';
  readonly partition_key: KeySpec;
  readonly sort_key?: KeySpec;
  readonly global_secondary_indexes?: IndexSpec[];
  readonly ttl_attribute?: string;
  readonly point_in_time_recovery: boolean;
  readonly deletion_protection: boolean;
}

/** `infra/tables.json`: the one source of truth for the DynamoDB tables. */
export function tableSpecs(): TableSpec[] {
  const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, 'infra', 'tables.json'), 'utf8'));
  return raw.tables as TableSpec[];
}

/** The state machine definition with its `${...}` placeholders unfilled. */
export function rotationAsl(): string {
  return readFileSync(path.join(REPO_ROOT, 'statemachine', 'rotation.asl.json'), 'utf8');
}

/** Every `${Name}` placeholder the ASL uses. */
export function aslPlaceholders(asl: string): string[] {
  return [...new Set([...asl.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]))].sort();
}
