// keyturn on AWS as one construct: tables, functions, workflow, schedule,
// approval endpoint, secrets, alarms. Mirrors infra/terraform resource for
// resource; infra/checks/parity.py fails when the two drift.

import { ArnFormat, CfnResource, Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import * as path from 'path';
import { aslPlaceholders, REPO_ROOT, rotationAsl, TableSpec, tableSpecs } from './spec';

/** Inputs of the whole deployment. Only `emailFrom` is required. */
export interface KeyturnProps {
  /** Verified SES sender of approval and on-call email, e.g. `keyturn@example.com`. */
  readonly emailFrom: string;
  /**
   * Domain or address to create as an SES identity (verification and DKIM
   * records are then yours to publish). Omit when the sender is already verified.
   * @default - no identity is created
   */
  readonly sesIdentity?: string;
  /** Prefix of every named resource (tables, functions, secrets, state machine). @default 'keyturn-' */
  readonly prefix?: string;
  /**
   * Connector secrets keyturn may read and rotate: their names start with this.
   * The rotation functions can touch no other secret.
   * @default 'keyturn/connectors/'
   */
  readonly connectorSecretPrefix?: string;
  /** When the scanner runs (EventBridge Scheduler expression). @default 'cron(0 6 * * ? *)' (daily 06:00 UTC) */
  readonly scanSchedule?: string;
  /** Keys expiring within this many days are due. @default 45 */
  readonly dueWithinDays?: number;
  /** How due keys are batched into changes: connector, org or window. @default 'org' */
  readonly grouping?: 'connector' | 'org' | 'window';
  /** How long approvers have, e.g. '72h'. @default '72h' */
  readonly approvalTimeout?: string;
  /** The same for already-expired keys. @default '4h' */
  readonly urgentApprovalTimeout?: string;
  /** How long an owner has to paste a vendor-console key. @default '24h' */
  readonly intakeTimeout?: string;
  /** How long approval links stay valid, at most the approval timeout, e.g. '24h'. @default - the approval timeout */
  readonly linkTtl?: string;
  /** Connectors of one change rotated at once (the workflow's Map), 1 to 1000. @default 10 */
  readonly mapConcurrency?: number;
  /** Alarm when an approval has waited this many hours. @default 48 */
  readonly approvalOverdueHours?: number;
  /** Existing secret `{tenant_id, client_id, client_secret}` for Microsoft Graph. @default - no Entra consumer */
  readonly entraSecretArn?: string;
  /** Existing secret `{domain, api_token}` for the Okta API. @default - no Okta consumer */
  readonly oktaSecretArn?: string;
  /** Jira for urgent changes; credentials in an existing secret `{user, token}` or `{bearer}`. @default - no tickets */
  readonly jira?: { readonly url: string; readonly project: string; readonly credentialsSecretArn: string };
  /**
   * Serve approval links from your own domain through CloudFront instead of
   * the bare Function URL. The certificate must be in us-east-1.
   * @default - links point at the Function URL
   */
  readonly approvalDomain?: { readonly domainName: string; readonly certificateArn: string };
  /** Who gets alarm email (a subscription to the alarm topic). @default - subscribe yourself */
  readonly alarmEmail?: string;
  /** CloudWatch Logs retention of functions and the workflow. @default ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Hosts (or `.suffix`es) vendor, Slack and Jira calls may reach, e.g.
   * `['.atlassian.com', 'graph.microsoft.com', 'login.microsoftonline.com', 'hooks.slack.com']`.
   * Private, loopback and metadata addresses are refused regardless.
   * @default - any public host
   */
  readonly allowedHosts?: string[];
  /** Turn on X-Ray tracing of the workflow. @default false */
  readonly tracing?: boolean;
}

/** The functions, as named in Cargo and in the ASL placeholders. */
export const FUNCTIONS = [
  'scanner',
  'request-approval',
  'approval-callback',
  'notify',
  'request-key',
  'rotate',
  'verify',
  'finalize',
  'rollback',
] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/** ASL placeholder → function (the rest of the ASL is filled as-is). */
const ASL_FUNCTIONS: Record<string, FunctionName> = {
  RequestApprovalFunctionArn: 'request-approval',
  NotifyFunctionArn: 'notify',
  RequestKeyFunctionArn: 'request-key',
  RotateFunctionArn: 'rotate',
  VerifyFunctionArn: 'verify',
  FinalizeFunctionArn: 'finalize',
  RollbackFunctionArn: 'rollback',
};

/** Per-function size and time; the rotation steps wait on vendors with bounded retries. */
const SIZING: Record<FunctionName, { memory: number; timeout: number }> = {
  scanner: { memory: 256, timeout: 300 },
  'request-approval': { memory: 128, timeout: 60 },
  'approval-callback': { memory: 128, timeout: 30 },
  notify: { memory: 128, timeout: 60 },
  'request-key': { memory: 128, timeout: 60 },
  rotate: { memory: 128, timeout: 120 },
  verify: { memory: 128, timeout: 300 },
  finalize: { memory: 128, timeout: 120 },
  rollback: { memory: 128, timeout: 120 },
};

/**
 * 64 hex digits = 32 random bytes (the HMAC link key, the Ed25519 digest seed),
 * generated by Secrets Manager, never in the template.
 */
const HEX_KEY_32_BYTES: secretsmanager.SecretStringGenerator = {
  passwordLength: 64,
  excludeUppercase: true,
  excludePunctuation: true,
  includeSpace: false,
  excludeCharacters: 'ghijklmnopqrstuvwxyz',
};

/** The approver routing before anyone ran `keyturn approvers set`: no groups. */
export const EMPTY_ROUTING = '{"groups":{}}';

/** checkov findings that do not apply, each with the reason (the checks read this metadata). */
function skipChecks(resource: Construct, checks: Record<string, string>): void {
  const cfn = (resource.node.defaultChild ?? resource) as CfnResource;
  cfn.addMetadata('checkov', { skip: Object.entries(checks).map(([id, comment]) => ({ id, comment })) });
}

const LAMBDA_SKIPS = {
  CKV_AWS_116: 'Invoked synchronously by Step Functions / Scheduler / the Function URL, which retry and alarm; a DLQ would hold nothing',
  CKV_AWS_117: 'Talks only to AWS APIs and vendor SaaS endpoints over TLS; a VPC adds NAT cost and no isolation here',
  CKV_AWS_173: 'Environment holds table names, ARNs and URLs only; credentials live in Secrets Manager',
  CKV_AWS_272: 'Code signing needs a signing profile the deployer owns; enable it with your own profile if required',
};

export class Keyturn extends Construct {
  readonly tables: Record<TableSpec['logical_name'], dynamodb.Table>;
  readonly functions: Record<FunctionName, lambda.Function>;
  readonly stateMachine: sfn.StateMachine;
  readonly approvalUrl: string;
  readonly alarmTopic: sns.Topic;
  readonly exportBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: KeyturnProps) {
    super(scope, id);
    const prefix = props.prefix ?? 'keyturn-';
    const stack = Stack.of(this);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    // ---- tables, from infra/tables.json ------------------------------------
    const tables = {} as Record<TableSpec['logical_name'], dynamodb.Table>;
    for (const spec of tableSpecs()) {
      const key = (k: { name: string; type: 'S' | 'N' }) => ({
        name: k.name,
        type: k.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
      });
      const table = new dynamodb.Table(this, `${spec.logical_name}-table`, {
        tableName: `${prefix}${spec.logical_name}`,
        partitionKey: key(spec.partition_key),
        sortKey: spec.sort_key ? key(spec.sort_key) : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: spec.ttl_attribute,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: spec.point_in_time_recovery },
        deletionProtection: spec.deletion_protection,
        removalPolicy: spec.deletion_protection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      for (const gsi of spec.global_secondary_indexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: gsi.name,
          partitionKey: key(gsi.partition_key),
          sortKey: gsi.sort_key ? key(gsi.sort_key) : undefined,
          projectionType: dynamodb.ProjectionType[gsi.projection],
          nonKeyAttributes: gsi.non_key_attributes,
        });
      }
      skipChecks(table, { CKV_AWS_119: 'Encrypted at rest with the AWS owned key; no key material is stored in these tables' });
      tables[spec.logical_name] = table;
    }
    this.tables = tables;

    // ---- export bucket for auditors (ExportTableToPointInTime lands here) ---
    const accessLogs = new s3.Bucket(this, 'export-access-logs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(400), noncurrentVersionExpiration: Duration.days(30) }],
    });
    skipChecks(accessLogs, {
      CKV_AWS_18: 'This is the access-log bucket itself',
      CKV_AWS_21: 'Versioned (checkov reads the CDK construct as unversioned)',
    });
    this.exportBucket = new s3.Bucket(this, 'audit-exports', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'audit-exports/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(400) }],
    });

    // ---- secrets keyturn owns ------------------------------------------------
    const signingKey = new secretsmanager.Secret(this, 'link-signing-key', {
      secretName: `${prefix.replace(/-$/, '')}/link-signing-key`,
      description: 'HMAC key that signs approval links (rotated on schedule; `keyturn links rotate-key` by hand)',
      generateSecretString: HEX_KEY_32_BYTES,
    });
    const routing = new secretsmanager.Secret(this, 'approver-routing', {
      secretName: `${prefix.replace(/-$/, '')}/approver-routing`,
      description: 'Approver groups and their Slack webhooks; written by `keyturn approvers set FILE`',
      // Starts empty: webhook URLs never pass through deployment inputs, the
      // template or its state; `keyturn approvers set` writes them.
      secretStringValue: SecretValue.unsafePlainText(EMPTY_ROUTING),
    });
    // The Ed25519 seed that signs the daily audit digests (32 bytes, hex);
    // `keyturn audit public-key` prints the public half for auditors.
    const auditKey = new secretsmanager.Secret(this, 'audit-signing-key', {
      secretName: `${prefix.replace(/-$/, '')}/audit-signing-key`,
      description: 'Ed25519 seed that signs keyturn audit digests',
      generateSecretString: HEX_KEY_32_BYTES,
    });
    for (const s of [signingKey, routing, auditKey]) {
      skipChecks(s, {
        CKV_AWS_149: 'The AWS managed key aws/secretsmanager; pass your own key by editing this construct if policy demands a CMK',
      });
    }

    // ---- SES -------------------------------------------------------------------
    if (props.sesIdentity) {
      const identity = props.sesIdentity.includes('@')
        ? ses.Identity.email(props.sesIdentity)
        : ses.Identity.domain(props.sesIdentity);
      new ses.EmailIdentity(this, 'sender', { identity });
    }

    // ---- functions ----------------------------------------------------------------
    const env: Record<string, string> = {
      KEYTURN_CONNECTORS_TABLE: tables.connectors.tableName,
      KEYTURN_CHANGES_TABLE: tables.changes.tableName,
      KEYTURN_AUDIT_TABLE: tables.audit.tableName,
      KEYTURN_EMAIL_FROM: props.emailFrom,
      KEYTURN_SIGNING_KEY_SECRET: signingKey.secretName,
      KEYTURN_ROUTING_SECRET: routing.secretName,
      KEYTURN_AUDIT_KEY_SECRET: auditKey.secretName,
      KEYTURN_DUE_WITHIN_DAYS: String(props.dueWithinDays ?? 45),
      KEYTURN_GROUPING: props.grouping ?? 'org',
      KEYTURN_APPROVAL_TIMEOUT: props.approvalTimeout ?? '72h',
      KEYTURN_URGENT_APPROVAL_TIMEOUT: props.urgentApprovalTimeout ?? '4h',
      KEYTURN_INTAKE_TIMEOUT: props.intakeTimeout ?? '24h',
      KEYTURN_APPROVAL_OVERDUE_HOURS: String(props.approvalOverdueHours ?? 48),
      KEYTURN_MAP_CONCURRENCY: String(props.mapConcurrency ?? 10),
      RUST_LOG: 'info',
    };
    if (props.linkTtl) env.KEYTURN_LINK_TTL = props.linkTtl;
    if (props.allowedHosts?.length) env.KEYTURN_ALLOWED_HOSTS = props.allowedHosts.join(',');
    if (props.entraSecretArn) env.KEYTURN_ENTRA_SECRET = props.entraSecretArn;
    if (props.oktaSecretArn) env.KEYTURN_OKTA_SECRET = props.oktaSecretArn;
    if (props.jira) {
      env.KEYTURN_JIRA_URL = props.jira.url;
      env.KEYTURN_JIRA_PROJECT = props.jira.project;
      env.KEYTURN_JIRA_SECRET = props.jira.credentialsSecretArn;
    }

    const functions = {} as Record<FunctionName, lambda.Function>;
    for (const name of FUNCTIONS) {
      const logGroup = new logs.LogGroup(this, `${name}-logs`, {
        logGroupName: `/aws/lambda/${prefix}${name}`,
        retention,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      skipChecks(logGroup, { CKV_AWS_158: 'Logs hold ids and fingerprints, never key material; CloudWatch encrypts them at rest' });
      // Its own role, without AWSLambdaBasicExecutionRole (logs:* on every
      // group): it may write to its own log group only.
      const role = new iam.Role(this, `${name}-role`, {
        roleName: `${prefix}${name}`,
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `keyturn ${name}: exactly the calls it makes (see infra/README.md)`,
      });
      role.addToPolicy(
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      );
      const fn = new RustFunction(this, name, {
        role,
        functionName: `${prefix}${name}`,
        // One bootstrap for all nine functions (functions/src/lib.rs): each
        // bundling builds the same binary (cargo's cache makes the other
        // eight near no-ops) and the assets share one hash, so one upload.
        manifestPath: path.join(REPO_ROOT, 'Cargo.toml'),
        binaryName: 'keyturn-lambda',
        architecture: lambda.Architecture.ARM_64,
        bundling: { architecture: lambda.Architecture.ARM_64 },
        memorySize: SIZING[name].memory,
        timeout: Duration.seconds(SIZING[name].timeout),
        loggingFormat: lambda.LoggingFormat.JSON,
        logGroup,
        environment: { ...env, KEYTURN_FUNCTION: name },
        // Two scans at once would race for the same changes; the conditional
        // writes make that safe, this makes it rare.
        reservedConcurrentExecutions: name === 'scanner' ? 1 : undefined,
      });
      skipChecks(fn, {
        ...LAMBDA_SKIPS,
        ...(name === 'scanner' ? {} : { CKV_AWS_115: 'Bounded by the workflow (Map MaxConcurrency) and the scanner; a cap would only drop approvals' }),
      });
      functions[name] = fn;
    }
    this.functions = functions;

    // ---- approval endpoint -----------------------------------------------------------
    // auth NONE: the signed link is the credential (HMAC, single use, expiring).
    const url = functions['approval-callback'].addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    skipChecks(url, { CKV_AWS_258: 'Public by design: each request carries an HMAC-signed, expiring, single-use link' });
    if (props.approvalDomain) {
      const distribution = new cloudfront.Distribution(this, 'approval-cdn', {
        domainNames: [props.approvalDomain.domainName],
        certificate: acm.Certificate.fromCertificateArn(this, 'approval-cert', props.approvalDomain.certificateArn),
        minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        defaultBehavior: {
          origin: new origins.FunctionUrlOrigin(url),
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        },
      });
      skipChecks(distribution, {
        CKV_AWS_68: 'No WAF by default: the origin verifies HMAC links; attach your web ACL if you have one',
        CKV_AWS_86: 'Access logging is the deployer’s choice of bucket; the function logs every request',
      });
      this.approvalUrl = `https://${props.approvalDomain.domainName}/`;
    } else {
      this.approvalUrl = url.url;
    }
    // The scanner signs fresh links for its reminders.
    for (const name of ['request-approval', 'request-key', 'scanner'] as const) {
      functions[name].addEnvironment('KEYTURN_APPROVAL_URL', this.approvalUrl);
    }

    // ---- the workflow -------------------------------------------------------------------
    const asl = rotationAsl();
    const substitutions: Record<string, string> = {};
    for (const placeholder of aslPlaceholders(asl)) {
      const fnName = ASL_FUNCTIONS[placeholder];
      if (!fnName) throw new Error(`statemachine/rotation.asl.json: unknown placeholder \${${placeholder}}`);
      substitutions[placeholder] = functions[fnName].functionArn;
    }
    const workflowLogs = new logs.LogGroup(this, 'workflow-logs', {
      logGroupName: `/aws/vendedlogs/states/${prefix}rotation`,
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    skipChecks(workflowLogs, { CKV_AWS_158: 'Execution data is excluded from the logs; CloudWatch encrypts them at rest' });
    const invoked = Object.values(ASL_FUNCTIONS).map((n) => functions[n]);
    const workflowRole = new iam.Role(this, 'workflow-role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'keyturn rotation workflow: invokes its seven step functions, writes its logs',
    });
    workflowRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: invoked.flatMap((f) => [f.functionArn, `${f.functionArn}:*`]),
      }),
    );
    // The Distributed Map starts one child execution per connector of this
    // same state machine and follows them. By name, not by reference: the
    // role's policy cannot depend on the state machine that depends on it.
    // A child runs as stateMachine:<name>/<map run label>, its executions are
    // execution:<name>/<label>:<id> ("IAM policies for using Distributed Map
    // states", https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html):
    // every grant acting on children names the parent's form and "<parent>/*".
    // Not granted, as nothing calls them: RedriveExecution (keyturn never
    // redrives; the next scan retries as a new change), ListExecutions with a
    // mapRunArn, DescribeMapRun, UpdateMapRun.
    const machineName = `${prefix}rotation`;
    const machineArn = (name: string) =>
      stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const executionArn = (name: string) =>
      stack.formatArn({ service: 'states', resource: 'execution', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    workflowRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [machineArn(machineName), machineArn(`${machineName}/*`)] }),
    );
    workflowRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executionArn(`${machineName}:*`), executionArn(`${machineName}/*`)],
      }),
    );
    this.stateMachine = new sfn.StateMachine(this, 'rotation', {
      stateMachineName: machineName,
      definitionBody: sfn.DefinitionBody.fromString(asl),
      definitionSubstitutions: substitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      role: workflowRole,
      logs: { destination: workflowLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: props.tracing ?? false,
    });
    if (!(props.tracing ?? false)) {
      skipChecks(this.stateMachine, { CKV_AWS_284: 'X-Ray is optional (prop `tracing`); the workflow logs every state' });
    }
    functions.scanner.addEnvironment('KEYTURN_STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);

    // ---- least-privilege IAM, one statement per resource kind -----------------------------
    const tableArn = (t: dynamodb.Table) => t.tableArn;
    const allow = (name: FunctionName, actions: string[], resources: string[]) =>
      functions[name].addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    const connectorSecrets = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${props.connectorSecretPrefix ?? 'keyturn/connectors/'}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const sesIdentities = [props.emailFrom, props.emailFrom.split('@').pop() ?? props.emailFrom].map((i) =>
      stack.formatArn({ service: 'ses', resource: 'identity', resourceName: i }),
    );
    const idpSecrets = [props.entraSecretArn, props.oktaSecretArn].filter((s): s is string => !!s);
    const jiraSecrets = props.jira ? [props.jira.credentialsSecretArn] : [];
    const auditWriters: FunctionName[] = [
      'scanner', 'request-approval', 'approval-callback', 'notify', 'request-key', 'rotate', 'verify', 'finalize', 'rollback',
    ];
    for (const name of auditWriters) {
      // Append-only: read the chain head, put the next item; never update or delete.
      allow(name, ['dynamodb:PutItem', 'dynamodb:Query'], [tableArn(tables.audit)]);
    }

    allow('scanner', ['dynamodb:Query'], [`${tables.connectors.tableArn}/index/expiry-index`]);
    allow('scanner', ['dynamodb:UpdateItem'], [tableArn(tables.connectors)]);
    // PutItem/DeleteItem also take and give back the scan lock item.
    // UpdateItem claims each reminder and alert on its change, once.
    allow('scanner', ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], [tableArn(tables.changes)]);
    allow('scanner', ['states:StartExecution'], [this.stateMachine.stateMachineArn]);
    // Is a change's execution still running? (wedge repair, stuck-run alerts)
    allow('scanner', ['states:DescribeExecution'], [executionArn(`${machineName}:*`)]);
    // Reminders with fresh signed links, alerts and the daily digest.
    allow('scanner', ['dynamodb:BatchGetItem'], [tableArn(tables.connectors)]);
    // Key hand-overs still waiting for their owner (items of the changes table).
    allow('scanner', ['dynamodb:BatchGetItem'], [tableArn(tables.changes)]);
    allow('scanner', ['secretsmanager:GetSecretValue'], [signingKey.secretArn, routing.secretArn]);
    allow('scanner', ['ses:SendEmail'], sesIdentities);
    // The daily signed digest: one day's chain heads from the day index, a
    // full read only for the first digest, and the signing key.
    allow('scanner', ['dynamodb:Query'], [`${tables.audit.tableArn}/index/day-index`]);
    allow('scanner', ['dynamodb:Scan'], [tableArn(tables.audit)]);
    allow('scanner', ['secretsmanager:GetSecretValue'], [auditKey.secretArn]);
    // The daily run rotates keyturn's own signing keys on schedule (a new version each).
    allow('scanner', ['secretsmanager:PutSecretValue'], [signingKey.secretArn, auditKey.secretArn]);

    allow('request-approval', ['dynamodb:BatchGetItem'], [tableArn(tables.connectors)]);
    allow('request-approval', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [tableArn(tables.changes)]);
    allow('request-approval', ['secretsmanager:GetSecretValue'], [signingKey.secretArn, routing.secretArn, ...jiraSecrets]);
    allow('request-approval', ['ses:SendEmail'], sesIdentities);

    allow('approval-callback', ['dynamodb:BatchGetItem'], [tableArn(tables.connectors)]);
    allow('approval-callback', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [tableArn(tables.changes)]);
    allow('approval-callback', ['secretsmanager:GetSecretValue'], [signingKey.secretArn]);
    // The key intake form stores a pasted key as AWSPENDING; nothing else.
    allow('approval-callback', ['secretsmanager:PutSecretValue'], [connectorSecrets]);
    // A standalone policy, not the function's default one: the function would
    // otherwise depend on the state machine, which depends (through the
    // approval URL in request-approval's environment) on this function.
    // Approvals resume the parent execution, key hand-overs (AwaitKey) a
    // Distributed Map child. SendTaskSuccess has no resource type in IAM's
    // action list, yet IAM evaluates it against the state machine of the
    // execution that owns the token (grantTaskResponse grants that ARN too):
    // a child's is stateMachine:<name>/<label>, so both forms. Only
    // SendTaskSuccess: keyturn never fails a task or sends heartbeats.
    new iam.Policy(this, 'approval-callback-task-response', {
      roles: [functions['approval-callback'].role!],
      statements: [
        new iam.PolicyStatement({
          actions: ['states:SendTaskSuccess'],
          resources: [this.stateMachine.stateMachineArn, `${this.stateMachine.stateMachineArn}/*`],
        }),
      ],
    });

    allow('notify', ['dynamodb:BatchGetItem'], [tableArn(tables.connectors)]);
    allow('notify', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [tableArn(tables.changes)]);
    allow('notify', ['secretsmanager:GetSecretValue'], [routing.secretArn, ...jiraSecrets]);
    allow('notify', ['ses:SendEmail'], sesIdentities);

    allow('request-key', ['dynamodb:BatchGetItem'], [tableArn(tables.connectors)]);
    allow('request-key', ['dynamodb:PutItem'], [tableArn(tables.changes)]);
    allow('request-key', ['secretsmanager:GetSecretValue'], [signingKey.secretArn]);
    allow('request-key', ['ses:SendEmail'], sesIdentities);

    const stepSecrets: Record<'rotate' | 'verify' | 'finalize' | 'rollback', string[]> = {
      rotate: ['secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      verify: ['secretsmanager:GetSecretValue'],
      finalize: ['secretsmanager:GetSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      rollback: ['secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds', 'secretsmanager:UpdateSecretVersionStage'],
    };
    for (const [step, actions] of Object.entries(stepSecrets) as [keyof typeof stepSecrets, string[]][]) {
      allow(step, ['dynamodb:BatchGetItem'], [tableArn(tables.connectors)]);
      allow(step, actions, [connectorSecrets]);
      if (idpSecrets.length > 0) allow(step, ['secretsmanager:GetSecretValue'], idpSecrets);
      // verify only reads; the others record the connector's state.
      if (step !== 'verify') allow(step, ['dynamodb:UpdateItem'], [tableArn(tables.connectors)]);
    }
    // finalize and rollback record each connector's outcome on its change.
    for (const step of ['finalize', 'rollback'] as const) {
      allow(step, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [tableArn(tables.changes)]);
    }
    // A rollback pages on-call: the routing names the escalation channel.
    allow('rollback', ['secretsmanager:GetSecretValue'], [routing.secretArn]);
    allow('rollback', ['ses:SendEmail'], sesIdentities);

    // ---- schedule ---------------------------------------------------------------------------
    new scheduler.Schedule(this, 'scan-schedule', {
      scheduleName: `${prefix}scan`,
      description: 'Runs the keyturn scanner',
      schedule: scheduler.ScheduleExpression.expression(props.scanSchedule ?? 'cron(0 6 * * ? *)'),
      target: new targets.LambdaInvoke(functions.scanner, { retryAttempts: 2 }),
    });

    // ---- alarms and dashboard -------------------------------------------------------------------
    this.alarmTopic = new sns.Topic(this, 'alarms', {
      topicName: `${prefix}alarms`,
      enforceSSL: true,
    });
    skipChecks(this.alarmTopic, {
      CKV_AWS_26: 'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key; alarm text holds no secrets',
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subs.EmailSubscription(props.alarmEmail));

    const keyturnMetric = (metricName: string, dimensions?: Record<string, string>) =>
      new cloudwatch.Metric({ namespace: 'keyturn', metricName, dimensionsMap: dimensions, statistic: 'Sum', period: Duration.minutes(5) });
    const scanMetric = (metricName: string) =>
      new cloudwatch.Metric({ namespace: 'keyturn', metricName, statistic: 'Maximum', period: Duration.days(1) });
    const alarms: [string, string, cloudwatch.IMetric, cloudwatch.TreatMissingData][] = [
      ['workflow-failed', 'A rotation workflow failed, timed out or was aborted', this.stateMachine.metricFailed({ period: Duration.minutes(5) }), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['rotation-rolled-back', 'A rotation failed verification and was rolled back (connector needs_manual_intervention)', keyturnMetric('RotationRolledBack', { Step: 'rollback' }), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['rollback-failed', 'A rollback could not restore the old key: act now', keyturnMetric('RollbackFailed', { Step: 'rollback' }), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['auth-failures', 'A new key was refused (401/403) during verification', keyturnMetric('AuthFailures', { Step: 'verify' }), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['needs-manual-intervention', 'Connectors are waiting for a human (keyturn status)', scanMetric('NeedsManualIntervention'), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['approvals-overdue', 'An approval or key intake has waited longer than the overdue bound', scanMetric('ApprovalsOverdue'), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['expiring-unhandled', 'A key expires within 7 days and no change is running for it', scanMetric('ExpiringUnhandled'), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['wedges-repaired', 'The scanner reset connectors left rotating by an execution that ended', scanMetric('WedgesRepaired'), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['stuck-executions', 'A change has run past its bound (KEYTURN_STUCK_AFTER)', scanMetric('StuckExecutions'), cloudwatch.TreatMissingData.NOT_BREACHING],
      ['scanner-errors', 'The scanner failed or left work undone', functions.scanner.metricErrors({ period: Duration.hours(1) }), cloudwatch.TreatMissingData.NOT_BREACHING],
      // Silence is a failure too: no scan in two days means nobody is watching expiries.
      ['scanner-silent', 'The scanner has not run for two days', functions.scanner.metricInvocations({ period: Duration.days(1) }), cloudwatch.TreatMissingData.BREACHING],
    ];
    const alarmWidgets: cloudwatch.IWidget[] = [];
    for (const [name, description, metric, missing] of alarms) {
      const silent = name === 'scanner-silent';
      const alarm = new cloudwatch.Alarm(this, `alarm-${name}`, {
        alarmName: `${prefix}${name}`,
        alarmDescription: description,
        metric,
        threshold: 1,
        comparisonOperator: silent ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: silent ? 2 : 1,
        treatMissingData: missing,
      });
      alarm.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
      alarmWidgets.push(new cloudwatch.AlarmWidget({ alarm, title: name, width: 8 }));
    }
    new cloudwatch.Dashboard(this, 'dashboard', {
      dashboardName: `${prefix}overview`,
      widgets: [
        alarmWidgets,
        [
          new cloudwatch.GraphWidget({
            title: 'Rotations',
            width: 12,
            left: [keyturnMetric('RotationSucceeded', { Step: 'finalize' }), keyturnMetric('RotationRolledBack', { Step: 'rollback' })],
          }),
          new cloudwatch.GraphWidget({
            title: 'Time to rotate (s)',
            width: 12,
            left: [new cloudwatch.Metric({ namespace: 'keyturn', metricName: 'TimeToRotate', dimensionsMap: { Step: 'finalize' }, statistic: 'p90' })],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Keys by state (scanner)',
            width: 24,
            left: ['DueKeys', 'ExpiredKeys', 'InvalidRecords', 'NeedsManualIntervention', 'ApprovalsOverdue', 'ExpiringUnhandled'].map(scanMetric),
          }),
        ],
      ],
    });
  }
}
