#!/usr/bin/env node
// The sample app: one stack with the whole of keyturn. Inputs come from CDK
// context (cdk.json or `-c key=value`), so a deploy needs no code change:
//
//   npx cdk deploy -c emailFrom=keyturn@example.com -c alarmEmail=oncall@example.com
import { App, Stack, Tags } from 'aws-cdk-lib';
import { Keyturn } from '../lib/keyturn';

// Access logs through a bucket policy, not the legacy LogDeliveryWrite ACL.
const app = new App({ postCliContext: { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true } });
const ctx = (key: string): string | undefined => app.node.tryGetContext(key);

const stack = new Stack(app, ctx('stackName') ?? 'keyturn', {
  description: 'keyturn: rotates expiring SCIM and API keys under change control',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
const jiraUrl = ctx('jiraUrl');
const domain = ctx('approvalDomain');
new Keyturn(stack, 'keyturn', {
  emailFrom: ctx('emailFrom') ?? 'keyturn@example.com',
  sesIdentity: ctx('sesIdentity'),
  prefix: ctx('prefix'),
  connectorSecretPrefix: ctx('connectorSecretPrefix'),
  scanSchedule: ctx('scanSchedule'),
  entraSecretArn: ctx('entraSecretArn'),
  oktaSecretArn: ctx('oktaSecretArn'),
  jira: jiraUrl
    ? { url: jiraUrl, project: ctx('jiraProject') ?? '', credentialsSecretArn: ctx('jiraSecretArn') ?? '' }
    : undefined,
  approvalDomain: domain ? { domainName: domain, certificateArn: ctx('approvalCertificateArn') ?? '' } : undefined,
  alarmEmail: ctx('alarmEmail'),
  tracing: ctx('tracing') === 'true',
  allowedHosts: ctx('allowedHosts')?.split(','),
});
Tags.of(stack).add('app', 'keyturn');
