#!/usr/bin/env node
// CDK app: one stack, configured from context (cdk.json or `cdk deploy -c key=value`).
import { App } from 'aws-cdk-lib';

import { Connect4Stack, configFromContext } from '../lib/connect4-stack';

const app = new App();
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'Connect4Arena';

new Connect4Stack(app, stackName, {
  // The account and region of the current credentials (`cdk deploy`); without them the
  // stack is environment-agnostic, which is enough to synthesize it.
  env:
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined,
  description: 'Connect 4 Arena: Fargate service behind an ALB, RDS PostgreSQL, ElastiCache Redis',
  config: configFromContext(app.node),
});
