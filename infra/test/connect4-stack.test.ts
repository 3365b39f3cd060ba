// Checks of the synthesized CloudFormation template. Synthesis runs offline: no AWS
// credentials and no Docker are needed (the image is a registry URI, except in the one
// test that stages the Docker build context without building it).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';

import { CONTAINER_PORT, Connect4Stack, configFromContext } from '../lib/connect4-stack';

const IMAGE = 'public.ecr.aws/example/connect4-arena:1.0.0';
const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};

/** Builds the stack the way bin/connect4.ts does, with cdk.json's feature flags. */
function synth(context: Record<string, unknown> = {}, env?: { account: string; region: string }) {
  const app = new App({ context: { ...cdkJson.context, imageUri: IMAGE, ...context } });
  const stack = new Connect4Stack(app, 'Connect4Test', { env, config: configFromContext(app.node) });
  return { app, stack, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

function only(template: Template, type: string): [string, Resource] {
  const found = Object.entries(template.findResources(type)) as [string, Resource][];
  assert.equal(found.length, 1, `expected exactly one ${type}, found ${found.length}`);
  return found[0];
}

function container(template: Template): Record<string, any> {
  const [, task] = only(template, 'AWS::ECS::TaskDefinition');
  assert.equal(task.Properties.ContainerDefinitions.length, 1);
  return task.Properties.ContainerDefinitions[0];
}

/** Logical id of the security group with this description prefix. */
function securityGroup(template: Template, descriptionStart: string): string {
  const groups = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).filter(([, sg]) =>
    String((sg as Resource).Properties.GroupDescription).startsWith(descriptionStart),
  );
  assert.equal(groups.length, 1, `security group "${descriptionStart}…"`);
  return groups[0][0];
}

const groupId = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'GroupId'] });

describe('Connect4Stack', () => {
  const { template } = synth();

  describe('load balancer', () => {
    it('is internet-facing and keeps idle WebSockets open for an hour', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Scheme: 'internet-facing',
        LoadBalancerAttributes: Match.arrayWith([{ Key: 'idle_timeout.timeout_seconds', Value: '3600' }]),
      });
    });

    it('checks readiness, drains 30 s and has no stickiness', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        HealthCheckPath: '/health/ready',
        Port: CONTAINER_PORT,
        Protocol: 'HTTP',
        TargetType: 'ip',
        Matcher: { HttpCode: '200' },
        TargetGroupAttributes: Match.arrayWith([
          { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
          { Key: 'stickiness.enabled', Value: 'false' },
        ]),
      });
    });

    it('listens on HTTP 80 without a certificate', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    });

    it('serves HTTPS and redirects HTTP to it when given a certificate', () => {
      const arn = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';
      const { template: https } = synth({ certificateArn: arn });
      https.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 443,
        Protocol: 'HTTPS',
        Certificates: [{ CertificateArn: arn }],
      });
      https.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 80,
        DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Port: '443' }) })],
      });
      https.hasOutput('Url', { Value: { 'Fn::Join': ['', Match.arrayWith(['https://'])] } });
    });
  });

  describe('service', () => {
    it('runs at least two Fargate tasks in private subnets without public IPs', () => {
      const [, service] = only(template, 'AWS::ECS::Service');
      assert.ok(service.Properties.DesiredCount >= 2, `DesiredCount ${service.Properties.DesiredCount}`);
      assert.equal(service.Properties.LaunchType, 'FARGATE');
      const network = service.Properties.NetworkConfiguration.AwsvpcConfiguration;
      assert.equal(network.AssignPublicIp, 'DISABLED');
      for (const subnet of network.Subnets) assert.match(subnet.Ref, /^Vpcprivate/);
      assert.deepEqual(service.Properties.DeploymentConfiguration.DeploymentCircuitBreaker, {
        Enable: true,
        Rollback: true,
      });
    });

    it('takes its task count from context', () => {
      const { template: three } = synth({ desiredCount: '3' });
      three.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 3 });
    });

    it('gives the server time to drain and checks liveness inside the container', () => {
      const c = container(template);
      assert.equal(c.StopTimeout, 30);
      assert.deepEqual(c.PortMappings.map((p: any) => p.ContainerPort), [CONTAINER_PORT]);
      assert.match(c.HealthCheck.Command.join(' '), /\/health\/live/);
      assert.equal(c.LinuxParameters.InitProcessEnabled, true);
      assert.equal(c.Image, IMAGE);
    });

    it('passes the stores as environment and the database credentials as secrets', () => {
      const c = container(template);
      const env = Object.fromEntries(c.Environment.map((e: any) => [e.Name, e.Value]));
      assert.deepEqual(env.DB_HOST, { 'Fn::GetAtt': [only(template, 'AWS::RDS::DBInstance')[0], 'Endpoint.Address'] });
      assert.deepEqual(env.DB_PORT, { 'Fn::GetAtt': [only(template, 'AWS::RDS::DBInstance')[0], 'Endpoint.Port'] });
      assert.equal(env.DB_NAME, 'connect4');
      assert.equal(env.DB_OPTIONS, 'sslmode=require');
      assert.equal(env.PORT, String(CONTAINER_PORT));
      assert.equal(env.AUDIT_DIR, '/data/audit');
      // The load balancer's nodes (in the VPC) may name the client in X-Forwarded-For.
      assert.deepEqual(env.TRUSTED_PROXIES, { 'Fn::GetAtt': [only(template, 'AWS::EC2::VPC')[0], 'CidrBlock'] });
      const redisId = only(template, 'AWS::ElastiCache::ReplicationGroup')[0];
      assert.deepEqual(env.REDIS_URL, {
        'Fn::Join': [
          '',
          [
            'redis://',
            { 'Fn::GetAtt': [redisId, 'PrimaryEndPoint.Address'] },
            ':',
            { 'Fn::GetAtt': [redisId, 'PrimaryEndPoint.Port'] },
          ],
        ],
      });
      // No password in plain environment variables.
      assert.equal(env.DATABASE_URL, undefined);
      assert.equal(env.DB_PASSWORD, undefined);

      const secrets = Object.fromEntries(c.Secrets.map((s: any) => [s.Name, s.ValueFrom]));
      const attachment = only(template, 'AWS::SecretsManager::SecretTargetAttachment')[0];
      assert.deepEqual(secrets.DB_USER, { 'Fn::Join': ['', [{ Ref: attachment }, ':username::']] });
      assert.deepEqual(secrets.DB_PASSWORD, { 'Fn::Join': ['', [{ Ref: attachment }, ':password::']] });
    });

    it('lets the task execution role read the database secret', () => {
      const attachment = only(template, 'AWS::SecretsManager::SecretTargetAttachment')[0];
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
              Resource: { Ref: attachment },
            }),
          ]),
        },
        Roles: [{ Ref: Match.stringLikeRegexp('^TaskExecutionRole') }],
      });
    });

    it('writes logs to CloudWatch with a retention', () => {
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
      const c = container(template);
      assert.equal(c.LogConfiguration.LogDriver, 'awslogs');
    });
  });

  describe('image source', () => {
    it('pulls a private ECR image by tag with a pull grant', () => {
      const uri = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/connect4-arena:v1.2.3';
      const { template: ecr } = synth({ imageUri: uri });
      const image = JSON.stringify(container(ecr).Image);
      assert.match(image, /connect4-arena:v1\.2\.3/);
      ecr.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['ecr:BatchGetImage']),
              Resource: {
                'Fn::Join': ['', Match.arrayWith([':ecr:eu-west-1:123456789012:repository/connect4-arena'])],
              },
            }),
          ]),
        },
      });
    });

    it('builds the repository Dockerfile from a minimal context when no image is given', () => {
      const app = new App({ context: { ...cdkJson.context } });
      const stack = new Connect4Stack(app, 'Connect4Asset', { config: configFromContext(app.node) });
      Template.fromStack(stack); // synthesizes and stages the asset (no Docker build)
      const assets = JSON.parse(fs.readFileSync(path.join(app.outdir, 'Connect4Asset.assets.json'), 'utf8'));
      const images = Object.values(assets.dockerImages ?? {}) as any[];
      assert.equal(images.length, 1);
      const staged = path.join(app.outdir, images[0].source.directory);
      for (const needed of ['Dockerfile', 'Cargo.toml', 'Cargo.lock', 'src', 'migration/src', 'static', 'infra/docker/entrypoint.sh']) {
        assert.ok(fs.existsSync(path.join(staged, needed)), `build context lacks ${needed}`);
      }
      for (const excluded of ['target', '.git', 'data', 'infra/node_modules', 'infra/lib', 'tests', 'docs']) {
        assert.ok(!fs.existsSync(path.join(staged, excluded)), `build context includes ${excluded}`);
      }
      assert.equal(images[0].source.platform, 'linux/amd64');
    });
  });

  describe('PostgreSQL', () => {
    it('is PostgreSQL 16, encrypted, private and backed up for 7 days', () => {
      template.hasResourceProperties('AWS::RDS::DBInstance', {
        Engine: 'postgres',
        EngineVersion: Match.stringLikeRegexp('^16'),
        StorageEncrypted: true,
        PubliclyAccessible: false,
        BackupRetentionPeriod: 7,
        DBName: 'connect4',
        DeletionProtection: true,
      });
    });

    it('lives in the private subnets', () => {
      template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
        SubnetIds: [{ Ref: Match.stringLikeRegexp('^Vpcprivate') }, { Ref: Match.stringLikeRegexp('^Vpcprivate') }],
      });
    });

    it('has generated credentials in Secrets Manager', () => {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({
          GenerateStringKey: 'password',
          SecretStringTemplate: JSON.stringify({ username: 'connect4' }),
        }),
      });
    });
  });

  describe('Redis', () => {
    it('is a replication group with failover, encrypted at rest, in private subnets', () => {
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        Engine: 'redis',
        EngineVersion: Match.stringLikeRegexp('^7'),
        NumCacheClusters: 2,
        AutomaticFailoverEnabled: true,
        MultiAZEnabled: true,
        AtRestEncryptionEnabled: true,
        SecurityGroupIds: [groupId(securityGroup(template, 'Connect 4 Arena Redis'))],
      });
      template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', {
        SubnetIds: [{ Ref: Match.stringLikeRegexp('^Vpcprivate') }, { Ref: Match.stringLikeRegexp('^Vpcprivate') }],
      });
    });
  });

  describe('security groups', () => {
    const alb = securityGroup(template, 'Connect 4 Arena load balancer');
    const tasks = securityGroup(template, 'Connect 4 Arena tasks');
    const db = securityGroup(template, 'Connect 4 Arena PostgreSQL');
    const redis = securityGroup(template, 'Connect 4 Arena Redis');
    const efs = securityGroup(template, 'Connect 4 Arena audit volume');

    /** Every ingress rule as [target group, port, source] (inline and standalone). */
    function ingressRules(): [string, number, string][] {
      const rules: [string, number, string][] = [];
      for (const [id, sg] of Object.entries(template.findResources('AWS::EC2::SecurityGroup')) as [string, Resource][]) {
        for (const rule of sg.Properties.SecurityGroupIngress ?? []) {
          rules.push([id, rule.FromPort, rule.CidrIp ?? JSON.stringify(rule.SourceSecurityGroupId)]);
        }
      }
      for (const rule of Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as Resource[]) {
        const p = rule.Properties;
        assert.equal(p.FromPort, p.ToPort, 'single ports only');
        rules.push([p.GroupId['Fn::GetAtt'][0], p.FromPort, p.CidrIp ?? p.SourceSecurityGroupId['Fn::GetAtt'][0]]);
      }
      return rules.sort();
    }

    it('open exactly internet -> ALB :80, ALB -> tasks :8000, tasks -> RDS :5432, Redis :6379, EFS :2049', () => {
      assert.deepEqual(
        ingressRules(),
        [
          [alb, 80, '0.0.0.0/0'],
          [tasks, CONTAINER_PORT, alb],
          [db, 5432, tasks],
          [redis, 6379, tasks],
          [efs, 2049, tasks],
        ].sort(),
      );
    });

    it('restrict egress of the load balancer to the tasks and of the tasks to the stores and HTTPS', () => {
      const egress = (Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')) as Resource[])
        .map((r) => [r.Properties.GroupId['Fn::GetAtt'][0], r.Properties.FromPort, r.Properties.DestinationSecurityGroupId['Fn::GetAtt'][0]])
        .sort();
      assert.deepEqual(
        egress,
        [
          [alb, CONTAINER_PORT, tasks],
          [tasks, 5432, db],
          [tasks, 6379, redis],
          [tasks, 2049, efs],
        ].sort(),
      );
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('^Connect 4 Arena tasks'),
        SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })],
      });
    });
  });

  describe('autoscaling', () => {
    it('scales between 2 and 10 tasks', () => {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: 2,
        MaxCapacity: 10,
        ScalableDimension: 'ecs:service:DesiredCount',
        ServiceNamespace: 'ecs',
      });
    });

    it('tracks 60 % CPU', () => {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          TargetValue: 60,
        }),
      });
    });

    it('tracks ALB requests per task', () => {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }),
        }),
      });
    });

    it('tracks ALB connections per healthy task (WebSockets)', () => {
      const policies = Object.entries(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')) as [string, Resource][];
      const connections = policies.find(([, p]) =>
        p.Properties.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification !== undefined,
      );
      assert.ok(connections, 'a customized-metric policy');
      const spec = connections[1].Properties.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification;
      const names = spec.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName);
      assert.deepEqual(names.sort(), ['ActiveConnectionCount', 'HealthyHostCount']);
      assert.equal(spec.Metrics.filter((m: any) => m.ReturnData).length, 1);
      assert.deepEqual(connections[1].Properties.ResourceId['Fn::Join'][1][0], 'service/');
      // Created after the scalable target it refers to.
      const targetId = only(template, 'AWS::ApplicationAutoScaling::ScalableTarget')[0];
      assert.ok(connections[1].DependsOn?.includes(targetId), 'depends on the scalable target');
    });

    it('takes its bounds from context and refuses impossible ones', () => {
      const { template: wide } = synth({ minTasks: '3', maxTasks: '20' });
      wide.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 20 });
      wide.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 3 });
      assert.throws(() => synth({ minTasks: '1' }), /minTasks=1/);
      assert.throws(() => synth({ minTasks: '4', maxTasks: '3' }), /maxTasks=3/);
      assert.throws(() => synth({ desiredCount: '11' }), /desiredCount=11/);
      assert.throws(() => synth({ desiredCount: 'two' }), /context desiredCount="two": expected an integer/);
      assert.throws(() => synth({ dbMultiAz: 'yes' }), /expected true or false/);
      assert.throws(() => synth({ logRetentionDays: '31' }), /logRetentionDays=31/);
    });
  });

  describe('network', () => {
    it('spans two AZs with public and private subnets and one NAT gateway', () => {
      template.resourceCountIs('AWS::EC2::Subnet', 4);
      template.resourceCountIs('AWS::EC2::NatGateway', 1);
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
    });

    it('takes the NAT gateway count from context', () => {
      synth({ natGateways: '2' }).template.resourceCountIs('AWS::EC2::NatGateway', 2);
    });

    it('synthesizes for an explicit account and region too', () => {
      const { template: pinned } = synth({}, { account: '123456789012', region: 'eu-west-1' });
      pinned.resourceCountIs('AWS::ECS::Service', 1);
      pinned.resourceCountIs('AWS::EC2::NatGateway', 1);
    });
  });

  describe('audit volume', () => {
    it('mounts an encrypted EFS access point owned by the image user at /data/audit', () => {
      template.hasResourceProperties('AWS::EFS::FileSystem', { Encrypted: true });
      template.hasResourceProperties('AWS::EFS::AccessPoint', {
        PosixUser: { Uid: '10001', Gid: '10001' },
        RootDirectory: Match.objectLike({ Path: '/audit' }),
      });
      const c = container(template);
      assert.deepEqual(c.MountPoints, [{ ContainerPath: '/data/audit', ReadOnly: false, SourceVolume: 'audit' }]);
      const [, task] = only(template, 'AWS::ECS::TaskDefinition');
      assert.equal(task.Properties.Volumes[0].EFSVolumeConfiguration.TransitEncryption, 'ENABLED');
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'] }),
          ]),
        },
        Roles: [{ Ref: Match.stringLikeRegexp('^TaskTaskRole') }],
      });
    });

    it('can be left out', () => {
      const { template: scratch } = synth({ auditOnEfs: 'false' });
      scratch.resourceCountIs('AWS::EFS::FileSystem', 0);
      assert.deepEqual(container(scratch).MountPoints ?? [], []);
    });
  });

  it('outputs the load balancer DNS name', () => {
    template.hasOutput('LoadBalancerDnsName', {
      Value: { 'Fn::GetAtt': [only(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer')[0], 'DNSName'] },
    });
  });
});
