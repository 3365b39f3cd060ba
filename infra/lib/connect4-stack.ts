import * as path from 'node:path';

import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  aws_applicationautoscaling as appscaling,
  aws_certificatemanager as acm,
  aws_ec2 as ec2,
  aws_ecr as ecr,
  aws_ecs as ecs,
  aws_efs as efs,
  aws_elasticache as elasticache,
  aws_elasticloadbalancingv2 as elbv2,
  aws_logs as logs,
  aws_rds as rds,
} from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type { Construct, Node } from 'constructs';

/** Port the server listens on inside its container. */
export const CONTAINER_PORT = 8000;
/** uid/gid of the non-root user of the image (see the Dockerfile). */
export const APP_UID = '10001';
/** The repository root: the Docker build context of the image asset. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

/** Everything an operator may tune; every field has a default (see `DEFAULT_CONFIG`). */
export interface Connect4Config {
  /** Prebuilt image to run. Unset: build the repository's Dockerfile as a CDK asset. */
  readonly imageUri?: string;
  /** Tasks at deploy time; autoscaling moves the count between minTasks and maxTasks. */
  readonly desiredCount: number;
  readonly minTasks: number;
  readonly maxTasks: number;
  /** Fargate task size: vCPU units (256 = 0.25 vCPU) and MiB. */
  readonly taskCpu: number;
  readonly taskMemoryMiB: number;
  /** NAT gateways: 1 keeps cost down, 2 survives the loss of an AZ's gateway. */
  readonly natGateways: number;
  /** Target average CPU of the service, percent. */
  readonly cpuTargetPercent: number;
  /** Target ALB requests per task per minute. */
  readonly requestsPerTask: number;
  /** Target ALB connections (WebSockets count twice: client side and target side) per task. */
  readonly connectionsPerTask: number;
  readonly dbInstanceType: string;
  readonly dbMultiAz: boolean;
  readonly dbAllocatedStorageGiB: number;
  readonly dbDeletionProtection: boolean;
  readonly redisNodeType: string;
  /** Read replicas next to the primary; >= 1 enables automatic Multi-AZ failover. */
  readonly redisReplicas: number;
  /** ACM certificate: adds an HTTPS listener and redirects HTTP to it. */
  readonly certificateArn?: string;
  /** Keep the audit log on EFS (survives task replacement) instead of the task's scratch disk. */
  readonly auditOnEfs: boolean;
  readonly logRetentionDays: logs.RetentionDays;
  readonly rustLog: string;
}

export const DEFAULT_CONFIG: Connect4Config = {
  desiredCount: 2,
  minTasks: 2,
  maxTasks: 10,
  taskCpu: 512,
  taskMemoryMiB: 1024,
  natGateways: 1,
  cpuTargetPercent: 60,
  requestsPerTask: 6000,
  connectionsPerTask: 4000,
  dbInstanceType: 't4g.micro',
  dbMultiAz: false,
  dbAllocatedStorageGiB: 20,
  dbDeletionProtection: true,
  redisNodeType: 'cache.t4g.micro',
  redisReplicas: 1,
  auditOnEfs: true,
  logRetentionDays: logs.RetentionDays.ONE_MONTH,
  rustLog: 'info',
};

/**
 * Reads the configuration from CDK context (`cdk.json` or `-c key=value`). Values given on
 * the command line arrive as strings, so numbers and booleans are parsed here, and a bad
 * value stops synthesis with a message naming the key.
 */
export function configFromContext(node: Node): Connect4Config {
  const raw = (key: string): unknown => {
    const value = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : value;
  };
  const str = (key: string): string | undefined => {
    const value = raw(key);
    return value === undefined ? undefined : String(value);
  };
  const int = (key: string, fallback: number): number => {
    const value = raw(key);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed)) {
      throw new Error(`context ${key}=${JSON.stringify(value)}: expected an integer`);
    }
    return parsed;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const value = raw(key);
    if (value === undefined) return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new Error(`context ${key}=${JSON.stringify(value)}: expected true or false`);
  };
  const d = DEFAULT_CONFIG;
  const minTasks = int('minTasks', d.minTasks);
  return {
    imageUri: str('imageUri'),
    desiredCount: int('desiredCount', Math.max(d.desiredCount, minTasks)),
    minTasks,
    maxTasks: int('maxTasks', d.maxTasks),
    taskCpu: int('taskCpu', d.taskCpu),
    taskMemoryMiB: int('taskMemoryMiB', d.taskMemoryMiB),
    natGateways: int('natGateways', d.natGateways),
    cpuTargetPercent: int('cpuTargetPercent', d.cpuTargetPercent),
    requestsPerTask: int('requestsPerTask', d.requestsPerTask),
    connectionsPerTask: int('connectionsPerTask', d.connectionsPerTask),
    dbInstanceType: str('dbInstanceType') ?? d.dbInstanceType,
    dbMultiAz: bool('dbMultiAz', d.dbMultiAz),
    dbAllocatedStorageGiB: int('dbAllocatedStorageGiB', d.dbAllocatedStorageGiB),
    dbDeletionProtection: bool('dbDeletionProtection', d.dbDeletionProtection),
    redisNodeType: str('redisNodeType') ?? d.redisNodeType,
    redisReplicas: int('redisReplicas', d.redisReplicas),
    certificateArn: str('certificateArn'),
    auditOnEfs: bool('auditOnEfs', d.auditOnEfs),
    logRetentionDays: int('logRetentionDays', d.logRetentionDays) as logs.RetentionDays,
    rustLog: str('rustLog') ?? d.rustLog,
  };
}

function validate(config: Connect4Config): void {
  const fail = (message: string): never => {
    throw new Error(`invalid configuration: ${message}`);
  };
  if (config.minTasks < 2) fail(`minTasks=${config.minTasks}: run at least 2 tasks (one per AZ)`);
  if (config.maxTasks < config.minTasks) fail(`maxTasks=${config.maxTasks} is below minTasks=${config.minTasks}`);
  if (config.desiredCount < config.minTasks || config.desiredCount > config.maxTasks) {
    fail(`desiredCount=${config.desiredCount} must lie within minTasks..maxTasks (${config.minTasks}..${config.maxTasks})`);
  }
  if (config.natGateways < 1 || config.natGateways > 2) {
    fail(`natGateways=${config.natGateways}: 1 or 2 (tasks pull images and secrets through NAT)`);
  }
  if (config.redisReplicas < 0 || config.redisReplicas > 5) fail(`redisReplicas=${config.redisReplicas}: 0..5`);
  if (config.cpuTargetPercent < 10 || config.cpuTargetPercent > 90) {
    fail(`cpuTargetPercent=${config.cpuTargetPercent}: 10..90`);
  }
  if (config.requestsPerTask < 1 || config.connectionsPerTask < 1) fail('scaling targets must be positive');
  const retentions = Object.values(logs.RetentionDays).filter((v) => typeof v === 'number');
  if (!retentions.includes(config.logRetentionDays)) {
    fail(`logRetentionDays=${config.logRetentionDays}: one of ${retentions.join(', ')}`);
  }
}

/** Matches private ECR image URIs, whose pull permission the task must be granted. */
const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([^@]+))?(?:@(sha256:[0-9a-f]+))?$/;

export interface Connect4StackProps extends StackProps {
  /** Overrides of the defaults; usually `configFromContext(app.node)`. */
  readonly config?: Partial<Connect4Config>;
}

/**
 * Connect 4 Arena on AWS: stateless Fargate tasks behind an Application Load Balancer,
 * sharing hot state and Pub/Sub through ElastiCache (Redis) and durable data in RDS
 * PostgreSQL; each task appends its audit log to a shared, encrypted EFS volume.
 */
export class Connect4Stack extends Stack {
  public readonly config: Connect4Config;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly service: ecs.FargateService;
  public readonly database: rds.DatabaseInstance;

  constructor(scope: Construct, id: string, props: Connect4StackProps = {}) {
    super(scope, id, props);
    const config: Connect4Config = { ...DEFAULT_CONFIG, ...stripUndefined(props.config ?? {}) };
    validate(config);
    this.config = config;
    Tags.of(this).add('application', 'connect4-arena');

    // ---------------------------------------------------------------- network
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      // Free: image layers from ECR come from S3 without paying NAT data processing.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    const privateSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

    // Security groups, least privilege: internet -> ALB -> tasks :8000 -> RDS :5432 / Redis :6379 / EFS :2049.
    const albSg = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: 'Connect 4 Arena load balancer: HTTP(S) from the internet, to the tasks only',
      allowAllOutbound: false,
    });
    const serviceSg = new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc,
      description: 'Connect 4 Arena tasks: from the load balancer only',
      allowAllOutbound: false,
    });
    // AWS APIs (ECR, Secrets Manager, CloudWatch Logs) over HTTPS through NAT or the S3 endpoint.
    serviceSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (ECR, Secrets Manager, Logs)');
    const dbSg = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc,
      description: 'Connect 4 Arena PostgreSQL: from the tasks only',
      allowAllOutbound: false,
    });
    const redisSg = new ec2.SecurityGroup(this, 'RedisSecurityGroup', {
      vpc,
      description: 'Connect 4 Arena Redis: from the tasks only',
      allowAllOutbound: false,
    });
    dbSg.addIngressRule(serviceSg, ec2.Port.tcp(5432), 'PostgreSQL from the tasks');
    serviceSg.addEgressRule(dbSg, ec2.Port.tcp(5432), 'PostgreSQL');
    redisSg.addIngressRule(serviceSg, ec2.Port.tcp(6379), 'Redis from the tasks');
    serviceSg.addEgressRule(redisSg, ec2.Port.tcp(6379), 'Redis');

    // ---------------------------------------------------------------- PostgreSQL (cold layer)
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      instanceType: new ec2.InstanceType(config.dbInstanceType),
      vpc,
      vpcSubnets: privateSubnets,
      securityGroups: [dbSg],
      publiclyAccessible: false,
      multiAz: config.dbMultiAz,
      databaseName: 'connect4',
      // User name and a generated password in a Secrets Manager secret.
      credentials: rds.Credentials.fromGeneratedSecret('connect4'),
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: config.dbAllocatedStorageGiB,
      maxAllocatedStorage: Math.max(config.dbAllocatedStorageGiB * 5, 100),
      backupRetention: Duration.days(7),
      preferredBackupWindow: '03:00-03:30',
      preferredMaintenanceWindow: 'sun:04:00-sun:04:30',
      autoMinorVersionUpgrade: true,
      deletionProtection: config.dbDeletionProtection,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    this.database = database;
    const dbSecret = database.secret!;

    // ---------------------------------------------------------------- Redis (hot layer)
    const redisSubnets = new elasticache.CfnSubnetGroup(this, 'RedisSubnetGroup', {
      description: 'Connect 4 Arena Redis: private subnets',
      subnetIds: vpc.selectSubnets(privateSubnets).subnetIds,
    });
    const failover = config.redisReplicas > 0;
    const redis = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: 'Connect 4 Arena hot state, locks and Pub/Sub fan-out',
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: config.redisNodeType,
      // Cluster mode disabled: one shard, a primary and its replicas; the server uses the primary endpoint.
      numCacheClusters: 1 + config.redisReplicas,
      automaticFailoverEnabled: failover,
      multiAzEnabled: failover,
      cacheSubnetGroupName: redisSubnets.ref,
      securityGroupIds: [redisSg.securityGroupId],
      atRestEncryptionEnabled: true,
      // The server speaks plain redis:// (no TLS client); traffic stays inside the VPC,
      // between the tasks' security group and this one.
      transitEncryptionEnabled: false,
      // Hot state is rebuilt from PostgreSQL when lost: no snapshots needed.
      snapshotRetentionLimit: 0,
      preferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      autoMinorVersionUpgrade: true,
    });
    const redisUrl = `redis://${redis.attrPrimaryEndPointAddress}:${redis.attrPrimaryEndPointPort}`;

    // ---------------------------------------------------------------- ECS cluster and task
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc });

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: config.taskCpu,
      memoryLimitMiB: config.taskMemoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });

    const container = taskDefinition.addContainer('app', {
      containerName: 'connect4-arena',
      image: this.containerImage(config),
      essential: true,
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP, name: 'http' }],
      environment: {
        PORT: String(CONTAINER_PORT),
        BIND: '0.0.0.0',
        // The image's entry point assembles DATABASE_URL from these and the two secrets below.
        DB_HOST: database.dbInstanceEndpointAddress,
        DB_PORT: database.dbInstanceEndpointPort,
        DB_NAME: 'connect4',
        DB_OPTIONS: 'sslmode=require',
        REDIS_URL: redisUrl,
        REDIS_PREFIX: 'c4',
        GAME_TTL_SECONDS: '86400',
        // The load balancer's nodes live in the VPC: only they may name the client in
        // X-Forwarded-For (the sign-up and log-in limits count per client).
        TRUSTED_PROXIES: vpc.vpcCidrBlock,
        AUDIT_DIR: '/data/audit',
        STATIC_DIR: '/app/static',
        RUST_LOG: config.rustLog,
        LOG_FORMAT: 'json',
      },
      secrets: {
        DB_USER: ecs.Secret.fromSecretsManager(dbSecret, 'username'),
        DB_PASSWORD: ecs.Secret.fromSecretsManager(dbSecret, 'password'),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'connect4' }),
      // Liveness only: a store outage makes every task not-ready at once, and replacing
      // tasks would not help. Readiness is the load balancer's health check.
      healthCheck: {
        command: ['CMD-SHELL', `curl -fsS -o /dev/null http://127.0.0.1:${CONTAINER_PORT}/health/live || exit 1`],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      // SIGTERM starts the drain (not-ready, sockets closed with 1012, audit flushed);
      // the server exits within ~10 s. SIGKILL only after this.
      stopTimeout: Duration.seconds(30),
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
    });

    let auditFileSystem: efs.FileSystem | undefined;
    if (config.auditOnEfs) {
      const efsSg = new ec2.SecurityGroup(this, 'AuditFileSystemSecurityGroup', {
        vpc,
        description: 'Connect 4 Arena audit volume: NFS from the tasks only',
        allowAllOutbound: false,
      });
      efsSg.addIngressRule(serviceSg, ec2.Port.tcp(2049), 'NFS from the tasks');
      serviceSg.addEgressRule(efsSg, ec2.Port.tcp(2049), 'NFS (audit volume)');
      auditFileSystem = new efs.FileSystem(this, 'AuditFileSystem', {
        vpc,
        vpcSubnets: privateSubnets,
        securityGroup: efsSg,
        encrypted: true,
        performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
        throughputMode: efs.ThroughputMode.ELASTIC,
        lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const accessPoint = auditFileSystem.addAccessPoint('AuditAccessPoint', {
        path: '/audit',
        posixUser: { uid: APP_UID, gid: APP_UID },
        createAcl: { ownerUid: APP_UID, ownerGid: APP_UID, permissions: '750' },
      });
      taskDefinition.addVolume({
        name: 'audit',
        efsVolumeConfiguration: {
          fileSystemId: auditFileSystem.fileSystemId,
          transitEncryption: 'ENABLED',
          authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: 'ENABLED' },
        },
      });
      container.addMountPoints({ sourceVolume: 'audit', containerPath: '/data/audit', readOnly: false });
      auditFileSystem.grant(
        taskDefinition.taskRole,
        'elasticfilesystem:ClientMount',
        'elasticfilesystem:ClientWrite',
      );
    }

    // ---------------------------------------------------------------- service
    const service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: config.desiredCount,
      vpcSubnets: privateSubnets,
      securityGroups: [serviceSg],
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
      circuitBreaker: { enable: true, rollback: true },
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    this.service = service;

    // ---------------------------------------------------------------- load balancer
    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      securityGroup: albSg,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      // WebSockets stay open for a whole game; clients ping every 25 s, so an hour of
      // idleness means the client is gone.
      idleTimeout: Duration.seconds(3600),
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer = loadBalancer;

    const targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc,
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [service.loadBalancerTarget({ containerName: container.containerName, containerPort: CONTAINER_PORT })],
      healthCheck: {
        path: '/health/ready',
        healthyHttpCodes: '200',
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
      // A stopping task is drained this long before it gets SIGTERM; its own drain
      // (sockets told to reconnect, requests finished) then takes up to ~10 s.
      deregistrationDelay: Duration.seconds(30),
      // No stickiness: any task serves any request or socket.
    });

    if (config.certificateArn) {
      loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [acm.Certificate.fromCertificateArn(this, 'Certificate', config.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [targetGroup],
        open: true,
      });
      loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
    } else {
      loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultTargetGroups: [targetGroup],
        open: true,
      });
    }
    // Attaching the service to the target group, and the group to a listener, opens the
    // load balancer's security group to the tasks' on :8000 (egress) and the tasks' to the
    // load balancer's (ingress), and nothing else.

    // ---------------------------------------------------------------- autoscaling
    const scaling = service.autoScaleTaskCount({ minCapacity: config.minTasks, maxCapacity: config.maxTasks });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: config.cpuTargetPercent,
      scaleOutCooldown: Duration.seconds(60),
      // Scaling in closes sockets (they reconnect elsewhere): do it slowly.
      scaleInCooldown: Duration.seconds(300),
    });
    scaling.scaleOnRequestCount('Requests', {
      targetGroup,
      requestsPerTarget: config.requestsPerTask,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
    // Open WebSockets barely show in CPU or request counts: track the load balancer's
    // active connections per healthy task (metric math, not expressible with the L2 API).
    const connectionsPolicy = new appscaling.CfnScalingPolicy(this, 'ConnectionsScalingPolicy', {
      policyName: `${this.stackName}-connections-per-task`,
      policyType: 'TargetTrackingScaling',
      serviceNamespace: 'ecs',
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${cluster.clusterName}/${service.serviceName}`,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: config.connectionsPerTask,
        scaleOutCooldown: 60,
        scaleInCooldown: 300,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'connections',
              returnData: false,
              metricStat: {
                metric: {
                  namespace: 'AWS/ApplicationELB',
                  metricName: 'ActiveConnectionCount',
                  dimensions: [{ name: 'LoadBalancer', value: loadBalancer.loadBalancerFullName }],
                },
                stat: 'Sum',
              },
            },
            {
              id: 'tasks',
              returnData: false,
              metricStat: {
                metric: {
                  namespace: 'AWS/ApplicationELB',
                  metricName: 'HealthyHostCount',
                  dimensions: [
                    { name: 'LoadBalancer', value: loadBalancer.loadBalancerFullName },
                    { name: 'TargetGroup', value: targetGroup.targetGroupFullName },
                  ],
                },
                stat: 'Average',
              },
            },
            {
              id: 'connections_per_task',
              label: 'Active connections per healthy task',
              expression: 'IF(tasks > 0, connections / tasks, connections)',
              returnData: true,
            },
          ],
        },
      },
    });
    // The policy names the scalable target by its resource id: create it after the target.
    connectionsPolicy.node.addDependency(scaling);

    // ---------------------------------------------------------------- outputs
    const scheme = config.certificateArn ? 'https' : 'http';
    new CfnOutput(this, 'LoadBalancerDnsName', {
      value: loadBalancer.loadBalancerDnsName,
      description: 'DNS name of the load balancer (point a CNAME or alias record here)',
    });
    new CfnOutput(this, 'Url', {
      value: `${scheme}://${loadBalancer.loadBalancerDnsName}/`,
      description: 'The web app',
    });
    new CfnOutput(this, 'DatabaseEndpoint', { value: database.dbInstanceEndpointAddress });
    new CfnOutput(this, 'DatabaseSecretArn', {
      value: dbSecret.secretArn,
      description: 'Secrets Manager secret with the PostgreSQL user name and password',
    });
    new CfnOutput(this, 'RedisEndpoint', { value: redisUrl });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: service.serviceName });
    new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName });
    if (auditFileSystem) {
      new CfnOutput(this, 'AuditFileSystemId', {
        value: auditFileSystem.fileSystemId,
        description: 'EFS file system holding events-<task id>.jsonl audit logs',
      });
    }
  }

  /**
   * The image to run: a prebuilt one when `imageUri` is set (private ECR images get a pull
   * grant), else the repository's Dockerfile built and pushed by `cdk deploy`.
   */
  private containerImage(config: Connect4Config): ecs.ContainerImage {
    if (!config.imageUri) {
      return ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'Dockerfile',
        platform: Platform.LINUX_AMD64,
      });
    }
    const ecrMatch = ECR_IMAGE.exec(config.imageUri);
    if (ecrMatch) {
      const [, account, region, name, tag, digest] = ecrMatch;
      const repository = ecr.Repository.fromRepositoryAttributes(this, 'ImageRepository', {
        repositoryArn: `arn:${this.partition}:ecr:${region}:${account}:repository/${name}`,
        repositoryName: name,
      });
      return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
    }
    return ecs.ContainerImage.fromRegistry(config.imageUri);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
